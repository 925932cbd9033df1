"""PyTorch's side of resnet-train's built-in networks, for the scripts that
compare the two (tools/make_family_fixtures.py, tools/family_roundtrip.py,
bench/pytorch_family.py, tests/fixtures/parameter_counts.json).

torchvision's own classes build the ImageNet ResNets, with conv1 replaced by
a conv of the data's channel count (torchvision builds it for 3) and fc by
num_classes; the CIFAR ResNets (He et al. 2016, section 4.2) and
resnet18-cifar are built here from torchvision's BasicBlock, so their module
names (conv1, bn1, layerS.B.conv1, layerS.B.downsample.0, fc) and state_dict
are the ones resnet-train writes. Shortcuts are option B of the paper:
identity where the shape stays, a 1x1 convolution with stride and BatchNorm
(torchvision's `downsample`) where it changes.
"""
import torch
from torch import nn
from torchvision.models import resnet as tv

IMAGENET = {
    'resnet18': tv.resnet18, 'resnet34': tv.resnet34, 'resnet50': tv.resnet50,
    'resnet101': tv.resnet101, 'resnet152': tv.resnet152,
}
CIFAR_DEPTHS = {'resnet20': 3, 'resnet32': 5, 'resnet44': 7, 'resnet56': 9, 'resnet110': 18}


def _init_like_torchvision(model):
    """torchvision's ResNet rule: conv weights kaiming_normal_(fan_out, relu),
    BatchNorm 1 and 0; linear layers keep PyTorch's default."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.constant_(m.weight, 1)
            nn.init.constant_(m.bias, 0)


class CifarResNet(nn.Module):
    """Three stages of BasicBlocks (16/32/64 channels, or torchvision's four
    stages of 64..512 for resnet18-cifar), a 3x3 stride-1 stem, no max pool."""

    def __init__(self, blocks, widths, in_channels=3, num_classes=10):
        super().__init__()
        self.inplanes = widths[0]
        self.conv1 = nn.Conv2d(in_channels, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0])
        self.relu = nn.ReLU(inplace=True)
        for s, (n, w) in enumerate(zip(blocks, widths)):
            setattr(self, f'layer{s + 1}', self._stage(w, n, 1 if s == 0 else 2))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[-1], num_classes)
        _init_like_torchvision(self)

    def _stage(self, planes, n, stride):
        layers = []
        for k in range(n):
            s = stride if k == 0 else 1
            down = None
            if s != 1 or self.inplanes != planes:
                down = nn.Sequential(nn.Conv2d(self.inplanes, planes, 1, s, bias=False),
                                     nn.BatchNorm2d(planes))
            layers.append(tv.BasicBlock(self.inplanes, planes, s, down))
            self.inplanes = planes
        return nn.Sequential(*layers)

    def forward(self, x):
        x = self.relu(self.bn1(self.conv1(x)))
        for s in range(1, 5):
            layer = getattr(self, f'layer{s}', None)
            if layer is not None:
                x = layer(x)
        return self.fc(torch.flatten(self.avgpool(x), 1))


def build(name, in_channels=1, num_classes=10):
    """The PyTorch model resnet-train's built-in `name` is, for the data's
    channels and classes (the seed's takes only 1 channel and 10 classes)."""
    if name == 'seed':
        from seed_model import ResNet
        return ResNet()
    if name in IMAGENET:
        model = IMAGENET[name](num_classes=num_classes)
        if in_channels != 3:
            model.conv1 = nn.Conv2d(in_channels, 64, 7, 2, 3, bias=False)
            nn.init.kaiming_normal_(model.conv1.weight, mode='fan_out', nonlinearity='relu')
        return model
    if name in CIFAR_DEPTHS:
        n = CIFAR_DEPTHS[name]
        return CifarResNet([n, n, n], [16, 32, 64], in_channels, num_classes)
    if name == 'resnet18-cifar':
        return CifarResNet([2, 2, 2, 2], [64, 128, 256, 512], in_channels, num_classes)
    raise KeyError(name)


NAMES = ['seed'] + list(IMAGENET) + list(CIFAR_DEPTHS) + ['resnet18-cifar']
