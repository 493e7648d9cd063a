"""What a customer or merchant runs: HTTP client, wallet, key files, and the verifier's HTTP chain
source."""
