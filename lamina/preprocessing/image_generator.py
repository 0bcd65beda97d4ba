"""`ImageDataGenerator`: Keras's image augmentation and normalisation API, batched on tensors.

    datagen = ImageDataGenerator(rescale=1 / 255, rotation_range=10, width_shift_range=0.1,
                                 horizontal_flip=True, validation_split=0.2)
    train = datagen.flow_from_directory("photos", target_size=(150, 150), subset="training")
    model.fit(train, validation_data=datagen.flow_from_directory(..., subset="validation"))

Keras's arguments and defaults, plus three extras Keras lacks (each off by default):

- `gaussian_noise_std`: additive Gaussian noise, its standard deviation in the units of the
  data AFTER `rescale` (so with `rescale=1/255`, 0.05 is 5% of the range); added after the
  other augmentations and before `rescale`, never clipped.
- `histogram_equalization`: PIL's `ImageOps.equalize` per image and channel on 0..255 data
  (applied after brightness, before noise and `rescale`; its output is integer-valued).
- `random_crop=(h, w)`: take a random h x w window and resize it back to the full image size
  (bilinear, or nearest with interpolation_order=0), folded into the same affine warp as the
  other geometric steps. Batch shapes stay the same, so validation data needs no crop.

The iterators build each batch on the model's device: raw images (uint8 from files) go to the
device, are converted there, augmented with one `warp_affine` per batch, and standardised
(see `augment.py` and `standardize.py` for the exact order). The per-image methods
(`get_random_transform`, `apply_transform`, `random_transform`, `standardize`) take and
return NumPy arrays and run the same code on one image.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

from lamina import config
from lamina.ops.warp import FILL_MODES
from lamina.preprocessing import augment as aug
from lamina.preprocessing.generator_args import (
    FLOAT_DTYPES,
    arg_error,
    check_crop,
    check_flag,
    check_number,
    check_pair,
    check_shift_range,
    check_zoom_range,
    is_number,
)
from lamina.preprocessing.standardize import Standardizer, float64_chunks


class ImageDataGenerator:
    """Random augmentation and normalisation of NHWC image batches, as Keras's (legacy)
    `ImageDataGenerator`, plus `gaussian_noise_std`, `histogram_equalization`, `random_crop`."""

    def __init__(
        self,
        featurewise_center: bool = False,
        samplewise_center: bool = False,
        featurewise_std_normalization: bool = False,
        samplewise_std_normalization: bool = False,
        zca_whitening: bool = False,
        zca_epsilon: float = 1e-6,
        rotation_range: float = 0,
        width_shift_range: float | int | Sequence[float] = 0.0,
        height_shift_range: float | int | Sequence[float] = 0.0,
        brightness_range: Sequence[float] | None = None,
        shear_range: float = 0.0,
        zoom_range: float | Sequence[float] = 0.0,
        channel_shift_range: float = 0.0,
        fill_mode: str = "nearest",
        cval: float = 0.0,
        horizontal_flip: bool = False,
        vertical_flip: bool = False,
        rescale: float | None = None,
        preprocessing_function: Callable[[np.ndarray], Any] | None = None,
        data_format: str | None = None,
        validation_split: float = 0.0,
        interpolation_order: int = 1,
        dtype: str | None = None,
        gaussian_noise_std: float = 0.0,
        histogram_equalization: bool = False,
        random_crop: tuple[int, int] | None = None,
    ) -> None:
        flags = {
            "featurewise_center": featurewise_center,
            "samplewise_center": samplewise_center,
            "featurewise_std_normalization": featurewise_std_normalization,
            "samplewise_std_normalization": samplewise_std_normalization,
            "zca_whitening": zca_whitening,
            "horizontal_flip": horizontal_flip,
            "vertical_flip": vertical_flip,
            "histogram_equalization": histogram_equalization,
        }
        for name, value in flags.items():
            check_flag(name, value)
        data_format = data_format or config.image_data_format()
        if data_format != "channels_last":
            raise arg_error(
                "data_format", "'channels_last' (Lamina images are NHWC) or None", data_format
            )
        dtype = dtype or config.floatx()
        if str(dtype) not in FLOAT_DTYPES:
            raise arg_error("dtype", f"None or a float dtype name {FLOAT_DTYPES}", dtype)
        if fill_mode not in FILL_MODES:
            raise arg_error("fill_mode", f"one of {FILL_MODES}", fill_mode)
        if not is_number(cval):
            raise arg_error("cval", "a number", cval)
        if interpolation_order not in (0, 1) or isinstance(interpolation_order, bool):
            raise arg_error(
                "interpolation_order",
                "0 (nearest) or 1 (bilinear); Keras's SciPy spline orders 2-5 are not supported",
                interpolation_order,
            )
        if rescale is not None and (not is_number(rescale) or not np.isfinite(rescale)):
            raise arg_error("rescale", "None or a number (e.g. 1/255)", rescale)
        if preprocessing_function is not None and not callable(preprocessing_function):
            raise arg_error(
                "preprocessing_function",
                "None or a function of one image",
                type(preprocessing_function).__name__,
            )
        if not is_number(validation_split) or not 0 <= validation_split < 1:
            raise arg_error("validation_split", "a number in [0, 1)", validation_split)
        zca_epsilon = check_number("zca_epsilon", zca_epsilon)
        if zca_epsilon <= 0:
            raise arg_error("zca_epsilon", "a positive number", zca_epsilon)
        brightness = None
        if brightness_range is not None:
            brightness = check_pair(
                "brightness_range",
                brightness_range,
                "None or [lower, upper] with 0 <= lower <= upper",
            )
        noise = check_number("gaussian_noise_std", gaussian_noise_std)

        self.featurewise_center = featurewise_center
        self.samplewise_center = samplewise_center
        self.featurewise_std_normalization = featurewise_std_normalization
        self.samplewise_std_normalization = samplewise_std_normalization
        self.zca_whitening = zca_whitening
        self.zca_epsilon = zca_epsilon
        self.rotation_range = check_number("rotation_range", rotation_range)
        self.width_shift_range = width_shift_range
        self.height_shift_range = height_shift_range
        self.brightness_range = brightness_range
        self.shear_range = check_number("shear_range", shear_range)
        self.zoom_range = list(check_zoom_range(zoom_range))
        self.channel_shift_range = check_number("channel_shift_range", channel_shift_range)
        self.fill_mode = fill_mode
        self.cval = float(cval)
        self.horizontal_flip = horizontal_flip
        self.vertical_flip = vertical_flip
        self.rescale = rescale
        self.preprocessing_function = preprocessing_function
        self.data_format = data_format
        self._validation_split = float(validation_split)
        self.interpolation_order = int(interpolation_order)
        self.dtype = str(dtype)
        self.gaussian_noise_std = noise
        self.histogram_equalization = histogram_equalization
        self.random_crop = check_crop(random_crop)
        self._overrides()
        self.spec = aug.AugmentSpec(
            rotation_range=self.rotation_range,
            width_shift=check_shift_range("width_shift_range", width_shift_range),
            height_shift=check_shift_range("height_shift_range", height_shift_range),
            shear_range=self.shear_range,
            zoom_range=tuple(self.zoom_range),
            channel_shift_range=self.channel_shift_range,
            brightness_range=brightness,
            horizontal_flip=horizontal_flip,
            vertical_flip=vertical_flip,
            fill_mode=fill_mode,
            cval=self.cval,
            interpolation="nearest" if interpolation_order == 0 else "bilinear",
            noise_std=noise / rescale if noise and rescale else noise,
            histogram_equalization=histogram_equalization,
            random_crop=self.random_crop,
        )
        self._standardizer = Standardizer(
            preprocessing_function,
            rescale,
            self.samplewise_center,
            self.samplewise_std_normalization,
            self.featurewise_center,
            self.featurewise_std_normalization,
            self.zca_whitening,
            zca_epsilon,
        )

    def _overrides(self) -> None:
        """Keras's implied settings, with its warnings."""

        def note(option: str, effect: str) -> None:
            warnings.warn(f"ImageDataGenerator: {option}=True {effect}.", stacklevel=3)

        if self.zca_whitening:
            if not self.featurewise_center:
                self.featurewise_center = True
                note("zca_whitening", "turns on featurewise_center")
            if self.featurewise_std_normalization:
                self.featurewise_std_normalization = False
                note("zca_whitening", "turns off featurewise_std_normalization")
        if self.featurewise_std_normalization and not self.featurewise_center:
            self.featurewise_center = True
            note("featurewise_std_normalization", "turns on featurewise_center")
        if self.samplewise_std_normalization and not self.samplewise_center:
            self.samplewise_center = True
            note("samplewise_std_normalization", "turns on samplewise_center")

    # ------------------------------------------------------------------ fitted statistics
    @property
    def mean(self) -> np.ndarray | None:
        return self._standardizer.mean

    @mean.setter
    def mean(self, value: Any) -> None:
        self._standardizer.mean = None if value is None else np.asarray(value)
        self._standardizer._cache.clear()

    @property
    def std(self) -> np.ndarray | None:
        return self._standardizer.std

    @std.setter
    def std(self, value: Any) -> None:
        self._standardizer.std = None if value is None else np.asarray(value)
        self._standardizer._cache.clear()

    @property
    def zca_whitening_matrix(self) -> np.ndarray | None:
        return self._standardizer.zca_whitening_matrix

    @zca_whitening_matrix.setter
    def zca_whitening_matrix(self, value: Any) -> None:
        self._standardizer.zca_whitening_matrix = None if value is None else np.asarray(value)
        self._standardizer._cache.clear()

    @property
    def working_dtype(self) -> torch.dtype:
        """The dtype the augmentation computes in (float64 only for dtype='float64')."""
        return torch.float64 if self.dtype == "float64" else torch.float32

    def fit(self, x: Any, augment: bool = False, rounds: int = 1, seed: int | None = None) -> None:
        """Compute the featurewise mean/std and the ZCA matrix from sample images `x`
        (N, H, W, C), after `rescale` (not `preprocessing_function`, as in Keras);
        `augment=True` fits on `rounds` randomly augmented copies."""
        if isinstance(x, torch.Tensor):
            x = x.detach().cpu().numpy()
        arr = np.asarray(x)
        if arr.ndim != 4:
            raise arg_error("x", "images of rank 4 (samples, height, width, channels)", arr.shape)
        if arr.dtype.kind not in "biuf":
            raise arg_error("x.dtype", "a numeric array", arr.dtype)
        if arr.shape[-1] not in (1, 3, 4):
            warnings.warn(
                f"ImageDataGenerator.fit: expected 1, 3 or 4 channels on the last axis "
                f"(channels_last), received: shape={arr.shape}",
                stacklevel=2,
            )
        if not isinstance(rounds, numbers.Integral) or rounds < 1:
            raise arg_error("rounds", "a positive int", rounds)
        data = torch.from_numpy(np.ascontiguousarray(arr))
        if augment:  # (Lamina augments before rescale, the order its batches use)
            gen = torch.Generator().manual_seed(
                int(seed) if seed is not None else int(np.random.randint(2**31 - 1))
            )
            parts = []
            for _ in range(int(rounds)):
                for start in range(0, data.shape[0], 1024):
                    chunk = data[start : start + 1024].to(self.working_dtype)
                    parts.append(self.augment_batch(chunk, gen).to(self.dtype_torch))
            data = torch.cat(parts)
        rescale = self.rescale
        base = float64_chunks(data)

        def chunks():
            for c in base():
                yield c * rescale if rescale else c

        self._standardizer.fit(chunks, np.dtype(self._numpy_dtype))

    @property
    def dtype_torch(self) -> torch.dtype:
        return config.torch_dtype(self.dtype)

    @property
    def _numpy_dtype(self) -> str:
        """The dtype of NumPy results (NumPy has no bfloat16: float32 then)."""
        return "float32" if self.dtype == "bfloat16" else self.dtype

    # ---------------------------------------------------------------- batched (torch) path
    def augment_batch(
        self, x: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Randomly augment a float (B, H, W, C) batch on its device (one warp per batch)."""
        if not self.spec.active:
            return x
        gen = generator if generator is not None else _default_generator()
        params = aug.sample_params(self.spec, tuple(x.shape), gen, x.device)
        return aug.apply_params(self.spec, x, params)

    def standardize_batch(self, x: torch.Tensor) -> torch.Tensor:
        """Keras's `standardize` on a float (B, H, W, C) batch (a new tensor)."""
        return self._standardizer.apply(x)

    def transform_batch(
        self, raw: torch.Tensor, generator: torch.Generator | None = None
    ) -> torch.Tensor:
        """Raw images (uint8 or float, on any device) -> augmented, standardised `dtype` batch."""
        x = raw.to(self.working_dtype)
        x = self.augment_batch(x, generator)
        x = x.to(self.dtype_torch)
        return self.standardize_batch(x)

    # ------------------------------------------------------------- per-image Keras API
    def get_random_transform(self, img_shape: Sequence[int], seed: int | None = None) -> dict:
        """Random parameters for one image, drawn from NumPy's global RNG (seeded with `seed`
        if given) in Keras's order; Keras's dict keys, plus 'crop'/'noise' for the extras."""
        if len(img_shape) != 3:
            raise arg_error("img_shape", "(height, width, channels)", tuple(img_shape))
        if seed is not None:
            np.random.seed(seed)
        return aug.sample_params_numpy(self.spec, tuple(img_shape))

    def apply_transform(self, x: np.ndarray, transform_parameters: dict) -> np.ndarray:
        """Apply a parameter dict (see `get_random_transform`) to one (H, W, C) image."""
        img = self._image(x)
        params = aug.TransformParams.from_dict(transform_parameters)
        out = aug.apply_params(self.spec, img[None], params)[0]
        return out.to(config.torch_dtype(self._numpy_dtype)).numpy()

    def random_transform(self, x: np.ndarray, seed: int | None = None) -> np.ndarray:
        """A randomly transformed copy of one (H, W, C) image."""
        return self.apply_transform(x, self.get_random_transform(np.shape(x), seed))

    def standardize(self, x: np.ndarray) -> np.ndarray:
        """Keras's normalisation of one image (H, W, C) or a batch (N, H, W, C); returns a new
        array (Keras changes float inputs in place)."""
        arr = np.asarray(x)
        if arr.ndim not in (3, 4):
            raise arg_error("x", "an image (H, W, C) or a batch (N, H, W, C)", arr.shape)
        t = torch.from_numpy(np.array(arr, dtype=self._numpy_dtype))
        batch = t if arr.ndim == 4 else t[None]
        out = self.standardize_batch(batch)
        return (out if arr.ndim == 4 else out[0]).numpy()

    def _image(self, x: Any) -> torch.Tensor:
        arr = np.asarray(x)
        if arr.ndim != 3:
            raise arg_error("x", "one image of shape (height, width, channels)", arr.shape)
        return torch.from_numpy(np.array(arr, dtype=np.float64)).to(self.working_dtype)

    # -------------------------------------------------------------------------- flows
    def flow(
        self,
        x: Any,
        y: Any = None,
        batch_size: int = 32,
        shuffle: bool = True,
        sample_weight: Any = None,
        seed: int | None = None,
        save_to_dir: str | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        ignore_class_split: bool = False,
        subset: str | None = None,
    ):
        """Batches of augmented images from arrays: a `NumpyArrayIterator`. `x` is the
        images, or `(images, x_misc)` with an array (or list of arrays) that each batch
        carries along un-augmented, as `[images, *x_misc]` (a multi-input model's inputs)."""
        from lamina.preprocessing.iterators import NumpyArrayIterator

        return NumpyArrayIterator(
            x,
            y,
            self,
            batch_size=batch_size,
            shuffle=shuffle,
            sample_weight=sample_weight,
            seed=seed,
            save_to_dir=save_to_dir,
            save_prefix=save_prefix,
            save_format=save_format,
            ignore_class_split=ignore_class_split,
            subset=subset,
        )

    def flow_from_directory(
        self,
        directory: str,
        target_size: tuple[int, int] = (256, 256),
        color_mode: str = "rgb",
        classes: Sequence[str] | None = None,
        class_mode: str | None = "categorical",
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        save_to_dir: str | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        follow_links: bool = False,
        subset: str | None = None,
        interpolation: str = "nearest",
        keep_aspect_ratio: bool = False,
        cache: bool | str = False,
        workers: int | None = None,
        on_bad_file: str = "skip",
    ):
        """Batches of augmented images from a folder of class subfolders: a
        `DirectoryIterator`. `cache=True` (Lamina) keeps decoded images in a memmap file;
        `workers` decoder processes (Lamina; None: the cores but one, 0: decode in-process).
        `on_bad_file` (Lamina): 'skip' leaves unreadable files out of the batches and of
        `filenames`, `classes` and `n` alike (named in a warning, listed in `bad_files`);
        'raise' raises an error naming the file."""
        from lamina.preprocessing.directory_iterator import DirectoryIterator

        return DirectoryIterator(
            directory,
            self,
            target_size=target_size,
            color_mode=color_mode,
            classes=classes,
            class_mode=class_mode,
            batch_size=batch_size,
            shuffle=shuffle,
            seed=seed,
            save_to_dir=save_to_dir,
            save_prefix=save_prefix,
            save_format=save_format,
            follow_links=follow_links,
            subset=subset,
            interpolation=interpolation,
            keep_aspect_ratio=keep_aspect_ratio,
            cache=cache,
            workers=workers,
            on_bad_file=on_bad_file,
        )

    def flow_from_dataframe(
        self,
        dataframe: Any,
        directory: str | None = None,
        x_col: str = "filename",
        y_col: str | Sequence[str] = "class",
        weight_col: str | None = None,
        target_size: tuple[int, int] = (256, 256),
        color_mode: str = "rgb",
        classes: Sequence[str] | None = None,
        class_mode: str | None = "categorical",
        batch_size: int = 32,
        shuffle: bool = True,
        seed: int | None = None,
        save_to_dir: str | None = None,
        save_prefix: str = "",
        save_format: str = "png",
        subset: str | None = None,
        interpolation: str = "nearest",
        validate_filenames: bool = True,
        keep_aspect_ratio: bool = False,
        cache: bool | str = False,
        workers: int | None = None,
        on_bad_file: str = "skip",
    ):
        """Batches of augmented images named in a table (a pandas DataFrame or a dict of
        columns) with their labels: a `DataFrameIterator`. `cache`, `workers` and
        `on_bad_file` as in `flow_from_directory`."""
        from lamina.preprocessing.dataframe_iterator import DataFrameIterator

        return DataFrameIterator(
            dataframe,
            directory,
            self,
            x_col=x_col,
            y_col=y_col,
            weight_col=weight_col,
            target_size=target_size,
            color_mode=color_mode,
            classes=classes,
            class_mode=class_mode,
            batch_size=batch_size,
            shuffle=shuffle,
            seed=seed,
            save_to_dir=save_to_dir,
            save_prefix=save_prefix,
            save_format=save_format,
            subset=subset,
            interpolation=interpolation,
            keep_aspect_ratio=keep_aspect_ratio,
            validate_filenames=validate_filenames,
            cache=cache,
            workers=workers,
            on_bad_file=on_bad_file,
        )


def _default_generator() -> torch.Generator:
    """A CPU generator seeded from NumPy's global RNG (so np.random.seed makes runs repeat)."""
    return torch.Generator().manual_seed(int(np.random.randint(2**31 - 1)))


__all__ = ["ImageDataGenerator"]
