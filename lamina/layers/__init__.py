"""Layers with Keras's names and semantics, one family per module."""

from lamina.layers.activation_layers import ELU, LeakyReLU, Maxout, PReLU, ReLU, Softmax
from lamina.layers.adaptive_pooling import (
    AdaptiveAveragePooling1D,
    AdaptiveAveragePooling2D,
    AdaptiveAveragePooling3D,
    AdaptiveMaxPooling1D,
    AdaptiveMaxPooling2D,
    AdaptiveMaxPooling3D,
)
from lamina.layers.attention import (
    AdditiveAttention,
    Attention,
    GroupQueryAttention,
    MultiHeadAttention,
)
from lamina.layers.audio import MelSpectrogram, STFTSpectrogram
from lamina.layers.augmentation import (
    RandomBrightness,
    RandomContrast,
    RandomCrop,
    RandomFlip,
    RandomRotation,
    RandomTranslation,
    RandomZoom,
)
from lamina.layers.augmentation_boxes import MaxNumBoundingBoxes
from lamina.layers.augmentation_color import (
    RandomColorDegeneration,
    RandomColorJitter,
    RandomGrayscale,
    RandomHue,
    RandomInvert,
    RandomSaturation,
)
from lamina.layers.augmentation_geometry import (
    RandomElasticTransform,
    RandomPerspective,
    RandomShear,
)
from lamina.layers.augmentation_histogram import (
    ContrastLimitedAdaptiveHistogramEqualization,
    Equalization,
)
from lamina.layers.augmentation_policies import AugMix, RandAugment
from lamina.layers.augmentation_regions import (
    CutMix,
    MixUp,
    RandomErasing,
    RandomGaussianBlur,
)
from lamina.layers.augmentation_tone import (
    AutoContrast,
    RandomPosterization,
    RandomSharpness,
    Solarization,
)
from lamina.layers.base import Layer
from lamina.layers.convolutional import Conv1D, Conv2D, Conv2DTranspose
from lamina.layers.convolutional_3d import Conv3D
from lamina.layers.convolutional_transpose import Conv1DTranspose, Conv3DTranspose
from lamina.layers.core import Activation, Dense, Input, InputLayer
from lamina.layers.depthwise_separable import (
    DepthwiseConv1D,
    DepthwiseConv2D,
    SeparableConv1D,
    SeparableConv2D,
)
from lamina.layers.einsum_dense import EinsumDense
from lamina.layers.embedding import Embedding
from lamina.layers.encoding import CategoryEncoding, Discretization, HashedCrossing, Hashing
from lamina.layers.group_normalization import GroupNormalization
from lamina.layers.identity import Identity
from lamina.layers.input_spec import InputSpec
from lamina.layers.lambda_layer import Lambda
from lamina.layers.legacy import (
    Convolution1D,
    Convolution1DTranspose,
    Convolution2D,
    Convolution2DTranspose,
    Convolution3D,
    Convolution3DTranspose,
    SeparableConvolution1D,
    SeparableConvolution2D,
)
from lamina.layers.masking import Masking
from lamina.layers.merge_functions import (
    add,
    average,
    concatenate,
    dot,
    maximum,
    minimum,
    multiply,
    subtract,
)
from lamina.layers.merging import (
    Add,
    Average,
    Concatenate,
    Dot,
    Maximum,
    Minimum,
    Multiply,
    Subtract,
)
from lamina.layers.noise_dropout import AlphaDropout, SpatialDropout3D
from lamina.layers.normalization import BatchNormalization, LayerNormalization
from lamina.layers.pipeline import Pipeline
from lamina.layers.pooling import (
    AveragePooling1D,
    AveragePooling2D,
    AvgPool1D,
    AvgPool2D,
    GlobalAveragePooling1D,
    GlobalAveragePooling2D,
    GlobalAvgPool1D,
    GlobalAvgPool2D,
    GlobalMaxPool1D,
    GlobalMaxPool2D,
    GlobalMaxPooling1D,
    GlobalMaxPooling2D,
    MaxPool1D,
    MaxPool2D,
    MaxPooling1D,
    MaxPooling2D,
)
from lamina.layers.pooling_3d import (
    AveragePooling3D,
    AvgPool3D,
    GlobalAveragePooling3D,
    GlobalAvgPool3D,
    GlobalMaxPool3D,
    GlobalMaxPooling3D,
    MaxPool3D,
    MaxPooling3D,
)
from lamina.layers.preprocessing import CenterCrop, Normalization, Rescaling, Resizing
from lamina.layers.recurrent import (
    GRU,
    LSTM,
    RNN,
    Bidirectional,
    GRUCell,
    LSTMCell,
    SimpleRNN,
    SimpleRNNCell,
    StackedRNNCells,
)
from lamina.layers.recurrent.conv_lstm import ConvLSTM1D, ConvLSTM2D, ConvLSTM3D
from lamina.layers.regularization import (
    ActivityRegularization,
    Dropout,
    GaussianDropout,
    GaussianNoise,
    SpatialDropout1D,
    SpatialDropout2D,
)
from lamina.layers.reshaping import (
    Cropping1D,
    Cropping2D,
    Flatten,
    Permute,
    RepeatVector,
    Reshape,
    UpSampling1D,
    UpSampling2D,
    ZeroPadding1D,
    ZeroPadding2D,
)
from lamina.layers.reshaping_3d import Cropping3D, UpSampling3D, ZeroPadding3D
from lamina.layers.reversible_embedding import ReversibleEmbedding
from lamina.layers.rms_normalization import RMSNormalization
from lamina.layers.serialization import deserialize, serialize
from lamina.layers.spectral_normalization import SpectralNormalization
from lamina.layers.symbolic import KerasTensor
from lamina.layers.text import IntegerLookup, StringLookup, TextVectorization
from lamina.layers.time_distributed import TimeDistributed
from lamina.layers.torch_module_wrapper import TorchModuleWrapper
from lamina.layers.unit_normalization import UnitNormalization
from lamina.layers.wrapper import Wrapper

__all__ = [
    "CategoryEncoding",
    "Discretization",
    "HashedCrossing",
    "Hashing",
    "Pipeline",
    "ReversibleEmbedding",
    "SpectralNormalization",
    "TorchModuleWrapper",
    "MelSpectrogram",
    "STFTSpectrogram",
    "ConvLSTM1D",
    "ConvLSTM2D",
    "ConvLSTM3D",
    "MaxNumBoundingBoxes",
    "AugMix",
    "RandAugment",
    "CutMix",
    "MixUp",
    "RandomErasing",
    "RandomGaussianBlur",
    "RandomElasticTransform",
    "RandomPerspective",
    "RandomShear",
    "ContrastLimitedAdaptiveHistogramEqualization",
    "Equalization",
    "AutoContrast",
    "RandomPosterization",
    "RandomSharpness",
    "Solarization",
    "RandomColorDegeneration",
    "RandomColorJitter",
    "RandomGrayscale",
    "RandomHue",
    "RandomInvert",
    "RandomSaturation",
    "AdditiveAttention",
    "Attention",
    "GroupQueryAttention",
    "MultiHeadAttention",
    "EinsumDense",
    "GroupNormalization",
    "Identity",
    "Lambda",
    "RMSNormalization",
    "UnitNormalization",
    "add",
    "average",
    "concatenate",
    "dot",
    "maximum",
    "minimum",
    "multiply",
    "subtract",
    "serialize",
    "deserialize",
    "AdaptiveAveragePooling1D",
    "AdaptiveAveragePooling2D",
    "AdaptiveAveragePooling3D",
    "AdaptiveMaxPooling1D",
    "AdaptiveMaxPooling2D",
    "AdaptiveMaxPooling3D",
    "AlphaDropout",
    "AveragePooling3D",
    "AvgPool3D",
    "Cropping3D",
    "ELU",
    "GRU",
    "GlobalAveragePooling3D",
    "GlobalAvgPool3D",
    "GlobalMaxPool3D",
    "GlobalMaxPooling3D",
    "LSTM",
    "MaxPool3D",
    "MaxPooling3D",
    "RNN",
    "Activation",
    "ActivityRegularization",
    "Add",
    "Average",
    "AveragePooling1D",
    "AveragePooling2D",
    "AvgPool1D",
    "AvgPool2D",
    "BatchNormalization",
    "Bidirectional",
    "CenterCrop",
    "Concatenate",
    "Conv1D",
    "Conv2D",
    "Conv1DTranspose",
    "Conv2DTranspose",
    "Conv3D",
    "Conv3DTranspose",
    "Convolution1D",
    "Convolution1DTranspose",
    "Convolution2D",
    "Convolution2DTranspose",
    "Convolution3D",
    "Convolution3DTranspose",
    "DepthwiseConv1D",
    "DepthwiseConv2D",
    "Cropping1D",
    "Cropping2D",
    "Dense",
    "Dot",
    "Dropout",
    "Embedding",
    "Flatten",
    "GRUCell",
    "GaussianDropout",
    "GaussianNoise",
    "GlobalAveragePooling1D",
    "GlobalAveragePooling2D",
    "GlobalAvgPool1D",
    "GlobalAvgPool2D",
    "GlobalMaxPool1D",
    "GlobalMaxPool2D",
    "GlobalMaxPooling1D",
    "GlobalMaxPooling2D",
    "Input",
    "InputLayer",
    "InputSpec",
    "IntegerLookup",
    "KerasTensor",
    "LSTMCell",
    "Layer",
    "LayerNormalization",
    "LeakyReLU",
    "MaxPool1D",
    "MaxPool2D",
    "MaxPooling1D",
    "MaxPooling2D",
    "Maximum",
    "Masking",
    "Maxout",
    "Minimum",
    "Multiply",
    "Normalization",
    "PReLU",
    "Permute",
    "RandomBrightness",
    "RandomContrast",
    "RandomCrop",
    "RandomFlip",
    "RandomRotation",
    "RandomTranslation",
    "RandomZoom",
    "ReLU",
    "RepeatVector",
    "Rescaling",
    "Reshape",
    "Resizing",
    "SimpleRNN",
    "SimpleRNNCell",
    "SeparableConv1D",
    "SeparableConv2D",
    "SeparableConvolution1D",
    "SeparableConvolution2D",
    "Softmax",
    "SpatialDropout1D",
    "SpatialDropout2D",
    "SpatialDropout3D",
    "StackedRNNCells",
    "StringLookup",
    "Subtract",
    "TextVectorization",
    "TimeDistributed",
    "UpSampling1D",
    "UpSampling2D",
    "UpSampling3D",
    "Wrapper",
    "ZeroPadding1D",
    "ZeroPadding2D",
    "ZeroPadding3D",
]
