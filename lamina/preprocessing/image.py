"""`keras.preprocessing.image`: image files to arrays and back.

from lamina.preprocessing.image import load_img, img_to_array
"""

from lamina.utils.image_utils import array_to_img, img_to_array, load_img, save_img

__all__ = ["array_to_img", "img_to_array", "load_img", "save_img"]
