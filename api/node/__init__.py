"""The running node: data dir, runtime (consortium and block producer), admission, HTTP plumbing
shared by routers and explorer."""
