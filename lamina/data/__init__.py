"""The input pipeline under `fit`: array/generator adapters and image folders.

`adapter.py` turns what `fit`, `evaluate` and `predict` take (arrays, dicts of arrays,
generators, Keras Sequences, DataLoaders) into batches on the model's device;
`image_*.py` list, decode and cache image folders for `flow_from_directory` and
`image_dataset_from_directory`. It imports no layers or models: they sit beside it.
"""
