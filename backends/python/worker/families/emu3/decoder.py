"""The Emu3 image decoder: the model's own VQ-VAE (`model.model.vqmodel.decode`, what
`decode_image_tokens` runs once it has stripped the EOL and end tokens), codebook grids -> RGB
bytes as Emu3ImageProcessor.postprocess makes them (x * std + mean, times 255, clipped,
truncated to uint8; mean and std from preprocessor_config.json, else the class's CLIP
constants).

The VQ is convolutional, so it decodes any H x W; the decoder takes the grids the model can
generate: H * (W + 1) + 3 positions within its context (90x90 -> 720x720 px for Emu3-Gen). Its
temporal upsampler makes `temporal_downsample_factor` frames of which frame 0 is the image, so
one image's activations are that many frames deep; requests are split to stay under a budget.
"""

import torch

from hf_pixels import postprocess_constants, to_rgb

from .prompts import END_TOKENS

KIND = "emu3-vq"
ACTIVATION_BUDGET = {"cpu": 1 << 30, "cuda": 4 << 30}  # bytes of the largest activation
CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]  # Emu3ImageProcessor's defaults
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]


class Emu3Decoder:
    kind = KIND

    def __init__(self, path: str, model, height: int, width: int, context: int):
        """path: the directory whose preprocessor_config.json has the image mean and std (the
        model's; BAAI's official layout: its vision tokenizer's)."""
        self.vq = model.model.vqmodel  # Emu3VQVAE
        vq = self.vq.config
        self.scale = int(self.vq.spatial_scale_factor)  # 8 px per token
        self.codebook_size = int(vq.codebook_size)
        self.frames = int(vq.temporal_downsample_factor)
        self.channels = int(vq.base_channels) * max(int(m) for m in vq.channel_multiplier)
        self.context = context
        self.mean, self.std = postprocess_constants(path, CLIP_MEAN, CLIP_STD)
        self.config = {"kind": KIND, "height": height, "width": width, "scale": self.scale,
                       "codebookSize": self.codebook_size, "frames": self.frames,
                       "imageMean": self.mean, "imageStd": self.std}

    def images_per_forward(self, h: int, w: int) -> int:
        p = next(self.vq.parameters())
        pixels = h * w * self.scale ** 2
        per_image = self.channels * self.frames * pixels * p.element_size() * 4  # a few live
        return max(1, ACTIVATION_BUDGET.get(p.device.type, 1 << 30) // per_image)

    @torch.no_grad()
    def decode(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens: [B, H, W] int (in the codebook) -> pixels [B, H*8, W*8, 3] uint8 on the
        CPU."""
        b, h, w = tokens.shape
        if h * (w + 1) + END_TOKENS > self.context:
            raise ValueError(f"a {h}x{w} grid needs {h * (w + 1) + END_TOKENS} positions with "
                             f"its EOL and end tokens, more than the model's context "
                             f"{self.context}: Emu3 cannot have made it; decode a grid this "
                             f"model generated")
        s, chunk = self.scale, self.images_per_forward(h, w)
        device = next(self.vq.parameters()).device
        out = torch.empty((b, h * s, w * s, 3), dtype=torch.uint8)
        for first in range(0, b, chunk):
            grid = tokens[first:first + chunk].to(device, torch.long)  # [n, H, W]
            x = self.vq.decode(grid)  # [n, 3, H*s, W*s] in [-1, 1]
            out[first:first + chunk] = to_rgb(x.permute(0, 2, 3, 1), self.mean, self.std)
        return out
