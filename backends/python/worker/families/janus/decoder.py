"""The Janus image decoder: the model's own VQ decoder (`decode_image_tokens`), token grids ->
RGB bytes as JanusImageProcessor.postprocess makes them (x * std + mean, times 255, clipped,
truncated to uint8; Janus's mean = std = 0.5, so (x + 1) / 2 * 255).
"""

import torch

from hf_pixels import postprocess_constants, to_rgb

KIND = "janus-vq"
ACTIVATION_BUDGET = {"cpu": 1 << 30, "cuda": 4 << 30}  # bytes of the largest activation


class JanusDecoder:
    kind = KIND

    def __init__(self, path: str, model, side: int):
        self.model = model  # JanusForConditionalGeneration
        vq = model.config.vq_config
        self.side = side  # the decoder's grid: num_patches x num_patches
        self.scale = 2 ** (len(vq.channel_multiplier) - 1)
        self.codebook_size = int(vq.num_embeddings)
        self.base_channels = int(vq.base_channels)
        mean, std = postprocess_constants(path, [0.5] * 3, [0.5] * 3)  # JanusImageProcessor's
        self.mean, self.std = mean, std
        self.config = {"kind": KIND, "height": side, "width": side, "scale": self.scale,
                       "codebookSize": self.codebook_size, "imageMean": mean, "imageStd": std}

    def images_per_forward(self) -> int:
        p = next(self.model.parameters())
        pixels = (self.side * self.scale) ** 2
        per_image = self.base_channels * pixels * p.element_size() * 4  # a few live at once
        return max(1, ACTIVATION_BUDGET.get(p.device.type, 1 << 30) // per_image)

    @torch.no_grad()
    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens: [B, H, W] int (in the codebook) -> pixels [B, H*s, W*s, 3] uint8 on the
        CPU; the decoder's grid is fixed (H = W = side)."""
        b, h, w = tokens.shape
        if h != self.side or w != self.side:
            raise ValueError(f"the Janus decoder takes {self.side}x{self.side} grids, got "
                             f"{h}x{w}")
        s, chunk = self.scale, self.images_per_forward()
        device = next(self.model.parameters()).device
        out = torch.empty((b, h * s, w * s, 3), dtype=torch.uint8)
        for first in range(0, b, chunk):
            grid = tokens[first:first + chunk].reshape(-1, h * w).to(device, torch.long)
            x = self.model.decode_image_tokens(grid)  # [n, H*s, W*s, 3]
            out[first:first + chunk] = to_rgb(x, self.mean, self.std)
        return out
