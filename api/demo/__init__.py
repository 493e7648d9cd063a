"""The demo district: its cast, a month of simulated traffic, the demo builder."""
