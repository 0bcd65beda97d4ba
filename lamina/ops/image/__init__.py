"""Keras 3's `keras.ops.image` on torch: one module per family of operations, re-exported here."""

from lamina.ops.image.color import hsv_to_rgb, rgb_to_grayscale, rgb_to_hsv
from lamina.ops.image.filters import gaussian_blur, sobel_edges, ssim
from lamina.ops.image.patches import extract_patches, extract_patches_3d
from lamina.ops.image.resize import crop_images, pad_images, resize
from lamina.ops.image.sampling import (
    affine_transform,
    elastic_transform,
    map_coordinates,
    perspective_transform,
)
from lamina.ops.image.scale_translate import scale_and_translate

__all__: list[str] = [
    "affine_transform",
    "crop_images",
    "elastic_transform",
    "extract_patches",
    "extract_patches_3d",
    "gaussian_blur",
    "hsv_to_rgb",
    "map_coordinates",
    "pad_images",
    "perspective_transform",
    "resize",
    "rgb_to_grayscale",
    "rgb_to_hsv",
    "scale_and_translate",
    "sobel_edges",
    "ssim",
]
