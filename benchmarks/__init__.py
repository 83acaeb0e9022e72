"""Benchmarks for okc-recon (``make bench``); see SPEC §9 for the targets."""
