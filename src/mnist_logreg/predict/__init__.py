"""Labelling pictures with a saved model: reading files safely, framing them like the training
images, and labelling them (see :mod:`.images`, :mod:`.ink`, :mod:`.framing`, :mod:`.labelling`)."""

from .framing import ImageFraming
from .images import FORMATS, MAX_PIXELS, read_image
from .labelling import IMAGE_SUFFIXES, Prediction, expand_inputs, label_images, predict_images

__all__ = ["ImageFraming", "FORMATS", "MAX_PIXELS", "read_image", "IMAGE_SUFFIXES", "Prediction", "expand_inputs",
           "label_images", "predict_images"]
