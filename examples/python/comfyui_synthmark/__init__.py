"""synthmark for ComfyUI: a node that stamps generated images with signed C2PA credentials and
the imperceptible watermark, then saves them (in place of ComfyUI's "Save Image").

Install: copy (or symlink) this directory into ComfyUI/custom_nodes/ and `pip install` synthmark
into ComfyUI's Python. The node signs with SYNTHMARK_CERT / SYNTHMARK_KEY when both are set in
ComfyUI's environment, else with the machine's development identity (with a warning).
"""

from .nodes import NODE_CLASS_MAPPINGS, NODE_DISPLAY_NAME_MAPPINGS

__all__ = ["NODE_CLASS_MAPPINGS", "NODE_DISPLAY_NAME_MAPPINGS"]
