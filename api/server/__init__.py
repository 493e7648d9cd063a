"""The node's HTTP server: app assembly, routers, uvicorn."""
