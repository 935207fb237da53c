"""Building blocks shared by the crop model families."""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


def conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, act: type[nn.Module] | None = nn.ReLU) -> nn.Sequential:
    """Conv (no bias) + BatchNorm (+ activation): the unit that folds to one Conv at export."""
    layers: list[nn.Module] = [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout)]
    if act is not None:
        layers.append(act())
    return nn.Sequential(*layers)



class RepConvBN(nn.Module):
    """A conv-BN(-ReLU) trained as a sum of parallel branches, fused into ONE conv for inference.

    Structural re-parameterisation (RepVGG, Ding et al. 2021; MobileOne, Vasu et al. 2023): the
    branches are ``branches`` conv-BNs of kernel ``k``, a 1x1 conv-BN ("scale") when ``k > 1``, and a
    BN on the identity when the shape is kept. All are linear up to the activation, so they sum to a
    single conv with bias: training gets the easier optimisation of the wider block, inference pays
    for one conv. :func:`reparameterize` (called by the exporter) swaps each block for its fusion.
    ``blur`` > 0 (strided only) makes every branch a :class:`BlurConv2d` with that blur, so the fusion is one
    anti-aliased conv.
    """

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, branches: int = 2,
                 act: type[nn.Module] | None = nn.ReLU, blur: int = 0) -> None:
        super().__init__()
        if branches < 1:
            raise ValueError(f"RepConvBN needs at least one conv branch, got {branches}")
        self.k, self.stride, self.groups = k, stride, groups
        self.convs = nn.ModuleList(_conv_bn(cin, cout, k, stride, groups, blur) for _ in range(branches))
        self.scale = _conv_bn(cin, cout, 1, stride, groups, blur) if k > 1 else None
        self.identity = nn.BatchNorm2d(cout) if cin == cout and stride == 1 else None
        self.act = act() if act is not None else nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.convs[0](x)
        for conv in self.convs[1:]:
            y = y + conv(x)
        if self.scale is not None:
            y = y + self.scale(x)
        if self.identity is not None:
            y = y + self.identity(x)
        return self.act(y)

    @staticmethod
    def _folded(weight: torch.Tensor, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
        from torch.nn.utils.fusion import fuse_conv_bn_weights

        return fuse_conv_bn_weights(weight, None, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias)

    @torch.no_grad()
    def fuse(self) -> nn.Sequential:
        """The equivalent single conv (with bias) + activation, for eval-mode inference."""
        first = self.convs[0][0]
        weight = torch.zeros_like(_kernel(first))
        bias = torch.zeros(first.out_channels, device=weight.device, dtype=weight.dtype)
        c = self.k // 2  # where the 1x1 branch's kernel (blurred: m x m) sits in the k x k (blurred: k+m-1) one
        for branch in self.convs:
            w, b = self._folded(_kernel(branch[0]), branch[1])
            weight += w
            bias += b
        if self.scale is not None:
            w, b = self._folded(_kernel(self.scale[0]), self.scale[1])
            weight[:, :, c:c + w.shape[-2], c:c + w.shape[-1]] += w
            bias += b
        if self.identity is not None:
            per_group = weight.shape[1]
            eye = torch.zeros_like(weight)
            idx = torch.arange(weight.shape[0], device=weight.device)
            eye[idx, idx % per_group, c, c] = 1.0
            w, b = self._folded(eye, self.identity)
            weight += w
            bias += b
        conv = nn.Conv2d(first.in_channels, first.out_channels, weight.shape[-1], self.stride, first.padding,
                         groups=self.groups, bias=True)
        conv.weight.copy_(weight)
        conv.bias.copy_(bias)
        return nn.Sequential(conv, self.act)


class BlurConv2d(nn.Conv2d):
    """A strided conv whose input is low-passed first, as ONE conv: anti-aliased downsampling for free.

    A stride-2 conv samples every other position of what it computes, so a one-pixel shift of a
    32x24 crop can change its features a lot (aliasing). Blurring before subsampling makes them
    shift-stable (Zhang, "Making Convolutional Networks Shift-Invariant Again", ICML 2019). Blur and
    conv are both linear, so they compose into one kernel ``k + m - 1`` wide: the learnt ``k x k`` weight
    convolved with a fixed ``m x m`` blur, the binomial ``[1, 2, 1] x [1, 2, 1] / 16`` (``blur=3``) or the
    box ``[1, 1] x [1, 1] / 4`` (``blur=2``; both are zero at the Nyquist frequency). Training and inference run that
    composed kernel (:meth:`plain` gives it as a plain ``nn.Conv2d`` for export); the parameters are
    the ``k x k`` ones, so the model does not gain capacity, only smoothness.
    """

    BLURS = {3: (1.0, 2.0, 1.0), 2: (1.0, 1.0)}  # binomial; box (also zero at the Nyquist frequency, fewer taps)

    def __init__(self, cin: int, cout: int, k: int = 3, stride: int = 2, groups: int = 1, bias: bool = False,
                 blur: int = 3) -> None:
        self.check_blur(blur)
        # A blur of size m widens the kernel by m - 1; padding (k + m - 2) // 2 keeps the plain conv's output size
        # on even inputs (for m = 2 the sampling grid moves by half a pixel, which a classifier does not mind).
        super().__init__(cin, cout, k, stride, (k + blur - 2) // 2, groups=groups, bias=bias)
        b = torch.tensor(self.BLURS[blur])
        self.register_buffer("blur", (b[:, None] * b[None, :] / b.sum() ** 2).view(1, 1, blur, blur), persistent=False)

    @classmethod
    def check_blur(cls, blur: int) -> None:
        """Raise a ValueError naming the choices unless ``blur`` is a known blur size."""
        if blur not in cls.BLURS:
            raise ValueError(f"blur size must be one of {sorted(cls.BLURS)}, got {blur}")

    def composed_weight(self) -> torch.Tensor:
        """The (cout, cin/groups, k+m-1, k+m-1) kernel that equals blur-then-conv (m: the blur's size)."""
        o, i, k, _ = self.weight.shape
        m = self.blur.shape[-1]
        w = F.pad(self.weight.reshape(o * i, 1, k, k), (m - 1,) * 4)
        # Full convolution; the blur is symmetric, so correlating with it is convolving.
        return F.conv2d(w, self.blur.to(w.dtype)).reshape(o, i, k + m - 1, k + m - 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.composed_weight(), self.bias, self.stride, self.padding, self.dilation, self.groups)

    @torch.no_grad()
    def plain(self) -> nn.Conv2d:
        """The same function as a plain ``nn.Conv2d`` (for BatchNorm folding and export)."""
        w = self.composed_weight()
        conv = nn.Conv2d(self.in_channels, self.out_channels, w.shape[-1], self.stride, self.padding,
                         groups=self.groups, bias=self.bias is not None).to(w.device).train(self.training)
        conv.weight.copy_(w)
        if self.bias is not None:
            conv.bias.copy_(self.bias)
        return conv


def _conv_bn(cin: int, cout: int, k: int, stride: int, groups: int, blur: int) -> nn.Sequential:
    """A conv-BN branch of :class:`RepConvBN`: plain, or blurred first when ``blur`` > 0."""
    if not blur:
        return conv_bn(cin, cout, k, stride, groups, act=None)
    return nn.Sequential(BlurConv2d(cin, cout, k, stride, groups, blur=blur), nn.BatchNorm2d(cout))


def _kernel(conv: nn.Conv2d) -> torch.Tensor:
    """The kernel a conv applies to its input (a :class:`BlurConv2d`'s composed one)."""
    return conv.composed_weight() if isinstance(conv, BlurConv2d) else conv.weight


def rep_conv_bn(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1, act: type[nn.Module] | None = nn.ReLU,
                branches: int = 0, blur: int = 0) -> nn.Module:
    """:func:`conv_bn` when ``branches == 0``, else a :class:`RepConvBN` with that many conv branches.

    ``blur`` > 0 (strided convs only) makes the conv a :class:`BlurConv2d` with a blur of that size:
    anti-aliased downsampling.
    """
    if blur:
        if stride == 1:
            raise ValueError("blur is for strided convs: a stride-1 conv does not subsample")
        if branches:
            return RepConvBN(cin, cout, k, stride, groups, branches, act, blur=blur)
        layers = _conv_bn(cin, cout, k, stride, groups, blur)
        return nn.Sequential(*layers, act()) if act is not None else layers
    if branches == 0:
        return conv_bn(cin, cout, k, stride, groups, act)
    return RepConvBN(cin, cout, k, stride, groups, branches, act)


def reparameterize(model: nn.Module) -> nn.Module:
    """Replace (in place) every :class:`RepConvBN` by its fused single conv and every :class:`BlurConv2d`
    by its plain composed conv; eval mode only."""
    if model.training:
        raise ValueError("reparameterize() fuses BatchNorm running statistics: call model.eval() first")
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, RepConvBN):
                setattr(parent, name, child.fuse())
            elif isinstance(child, BlurConv2d):
                setattr(parent, name, child.plain())
    return model

class LayerNorm2d(nn.LayerNorm):
    """LayerNorm over channels of an NCHW tensor."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.layer_norm(x.permute(0, 2, 3, 1), self.normalized_shape, self.weight, self.bias, self.eps).permute(0, 3, 1, 2)


class SqueezeExcite(nn.Module):
    """Squeeze-and-excitation (Hu et al., 2018) with biases, reduction on the block's width."""

    def __init__(self, channels: int, reduction: int = 8) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.fc1 = nn.Conv2d(channels, hidden, 1)
        self.fc2 = nn.Conv2d(hidden, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean((2, 3), keepdim=True)
        return x * torch.sigmoid(self.fc2(F.silu(self.fc1(s))))


def grid_pool(x: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """Average-pool an NCHW map to a ``grid`` of tokens, for ANY input size -> (N, gh*gw, C).

    Bins follow adaptive pooling (start=floor(i*H/g), end=ceil((i+1)*H/g)), computed from the
    static shape with plain slices, so it exports to ONNX even when H is not divisible by the
    grid (the reference family crashes there). A grid larger than the map repeats cells.
    Only non-negative integer division is used: the traced sizes become ONNX ``Div``, which
    truncates toward zero, so Python's ``-(-a // b)`` ceiling trick would export wrong bins.
    """
    n, c, h, w = x.shape
    gh, gw = grid
    tokens = []
    for i in range(gh):
        y0, y1 = (i * h) // gh, ((i + 1) * h + gh - 1) // gh
        for j in range(gw):
            x0, x1 = (j * w) // gw, ((j + 1) * w + gw - 1) // gw
            tokens.append(x[:, :, y0:y1, x0:x1].mean((2, 3)))
    return torch.stack(tokens, dim=1)


class PreNormEncoderLayer(nn.Module):
    """Pre-norm transformer encoder layer with GELU; plain ops so it exports to ONNX as is."""

    def __init__(self, dim: int, heads: int, mlp_ratio: float = 2.0, dropout: float = 0.0) -> None:
        super().__init__()
        self.heads = heads
        self.norm1 = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = nn.Sequential(nn.Linear(dim, int(dim * mlp_ratio)), nn.GELU(), nn.Dropout(dropout), nn.Linear(int(dim * mlp_ratio), dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, t, c = x.shape
        q, k, v = self.qkv(self.norm1(x)).reshape(n, t, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        attn = torch.softmax(q @ k.transpose(-2, -1) * (c // self.heads) ** -0.5, dim=-1)
        x = x + self.proj((attn @ v).transpose(1, 2).reshape(n, t, c))
        return x + self.mlp(self.norm2(x))


class MixerLayer(nn.Module):
    """MLP-Mixer layer (Tolstikhin et al., 2021): token MLP then channel MLP, both at x2."""

    def __init__(self, tokens: int, dim: int, ratio: int = 2) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.token_mlp = nn.Sequential(nn.Linear(tokens, tokens * ratio), nn.GELU(), nn.Linear(tokens * ratio, tokens))
        self.norm2 = nn.LayerNorm(dim)
        self.channel_mlp = nn.Sequential(nn.Linear(dim, dim * ratio), nn.GELU(), nn.Linear(dim * ratio, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.token_mlp(self.norm1(x).transpose(1, 2)).transpose(1, 2)
        return x + self.channel_mlp(self.norm2(x))


class ClassifierHead(nn.Module):
    """The four reference heads: ``avg``, ``avgmax_mlp``, ``transformer``, ``mlp_mixer``."""

    def __init__(self, kind: str, channels: int, num_classes: int, dropout: float = 0.3, token_grid: tuple[int, int] = (2, 2)) -> None:
        super().__init__()
        self.kind, self.token_grid = kind, tuple(token_grid)
        if kind == "avg":
            self.norm = nn.BatchNorm1d(channels)
            self.drop = nn.Dropout(dropout)
            self.fc = nn.Linear(channels, num_classes)
        elif kind == "avgmax_mlp":
            hidden = max(16, channels)
            self.norm = nn.BatchNorm1d(2 * channels)
            self.mlp = nn.Sequential(nn.Dropout(dropout), nn.Linear(2 * channels, hidden), nn.ReLU(), nn.Dropout(dropout))
            self.fc = nn.Linear(hidden, num_classes)
        elif kind in ("transformer", "mlp_mixer"):
            t = self.token_grid[0] * self.token_grid[1]
            heads = max(1, channels // 32)
            self.layers = nn.Sequential(*[PreNormEncoderLayer(channels, heads) if kind == "transformer" else MixerLayer(t, channels) for _ in range(2)])
            self.norm = nn.LayerNorm(channels)
            self.drop = nn.Dropout(dropout)
            self.fc = nn.Linear(channels, num_classes)
        else:
            raise ValueError(f"unknown head {kind!r}: use avg, avgmax_mlp, transformer or mlp_mixer")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "avg":
            return self.fc(self.drop(self.norm(x.mean((2, 3)))))
        if self.kind == "avgmax_mlp":
            pooled = torch.cat([x.mean((2, 3)), x.amax((2, 3))], dim=1)
            return self.fc(self.mlp(self.norm(pooled)))
        tokens = self.layers(grid_pool(x, self.token_grid))
        return self.fc(self.drop(self.norm(tokens.mean(1))))


class SepBlock(nn.Module):
    """[1x1 expand] + depthwise 3x3 + pointwise 1x1, each conv-BN(-ReLU); residual when the shape is kept.

    ``expand == 1`` is a plain depthwise-separable block (MobileNet); ``expand > 1`` an inverted
    residual (MobileNetV2, Sandler et al. 2018), which adds capacity at low resolution for one node.
    """

    def __init__(self, cin: int, cout: int, stride: int, expand: int = 1, residual_relu: bool = True, rep: int = 0,
                 fused: bool = False, k: int = 3, blur: int = 0) -> None:
        super().__init__()
        self.residual = stride == 1 and cin == cout
        self.residual_relu = residual_relu
        blur = blur if stride > 1 else 0  # only a strided conv subsamples
        if fused:  # one full 3x3 conv (Fused-MBConv, EfficientNetV2): few channels, so dense is cheap per node
            self.expand, self.dw = nn.Identity(), nn.Identity()
            self.pw = rep_conv_bn(cin, cout, 3, stride, act=None if self.residual else nn.ReLU, branches=rep, blur=blur)
            return
        mid = cin * expand
        self.expand = rep_conv_bn(cin, mid, 1, branches=rep) if expand > 1 else nn.Identity()
        self.dw = rep_conv_bn(mid, mid, k, stride, groups=mid, branches=rep, blur=blur)
        self.pw = rep_conv_bn(mid, cout, 1, act=None if self.residual else nn.ReLU, branches=rep)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.pw(self.dw(self.expand(x)))
        if not self.residual:
            return y
        return F.relu(x + y) if self.residual_relu else x + y
