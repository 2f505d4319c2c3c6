"""Float64 no-cache references of the tests: the LlamaGen forward in numpy (llamagen.py), the
prompt families' forward over the model's own layers with one dense mask (prompt.py), and
Chameleon's VQGAN decoder written out as formulas (lumina_vqgan.py).
"""
