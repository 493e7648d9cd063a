"""``jifentong bench``: the chain, HTTP, explorer and verifier figures."""
