"""The peer loops of the tests: each family's own reference loop (transformers' generate, or
Lumina-mGPT's rules on it) on a model directory, loaded apart from zipar's family code, for the
token-for-token peer tests (`python -m peers.emu3 DIR --prompt …`).
"""
