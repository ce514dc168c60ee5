"""The fixed input size of a config's test pipeline, which the exported model is traced at (mixdet/utils, where
get_flops also reads it without importing onnx)."""
from mixdet.utils.input_size import test_input_size

__all__ = ['test_input_size']
