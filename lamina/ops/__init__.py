"""Tensor kernels that several packages share, below the layers.

`lamina.ops.image`: batched affine warps of NHWC images and the matrices they take,
used by the augmentation layers and by `ImageDataGenerator`.
"""
