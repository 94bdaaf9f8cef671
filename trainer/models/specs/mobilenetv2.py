"""MobileNetV2 (any width) on a frozen ImageNet base; fine-tuned end to end, BatchNorm frozen."""

from __future__ import annotations

from trainer.models.spec import KERAS_APPLICATIONS_URL, ArchitectureSpec, BackboneFiles

NAME = "mobilenetv2"


def backbone_files(alpha: float) -> BackboneFiles:
    official = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_{float(alpha)}_224_no_top.h5"
    if float(alpha) == 1.0:
        ours = ("mobilenet_v2_1.0_224_imagenet_notop.h5", "mobilenet_v2_imagenet_notop.h5")
    else:
        ours = (f"mobilenet_v2_{float(alpha)}_224_imagenet_notop.h5",)
    return BackboneFiles((*ours, official), KERAS_APPLICATIONS_URL + "mobilenet_v2/" + official)


def base_network(alpha: float, **keras_arguments):
    import keras

    return keras.applications.MobileNetV2(alpha=alpha, **keras_arguments)


SPEC = ArchitectureSpec(
    name=NAME,
    short_name="MobileNetV2",
    display_name="MobileNetV2, frozen ImageNet base",
    tuned_display_name="MobileNetV2, fine-tuned",
    preprocessing="tf",
    last_conv_layer="out_relu",
    paper_accuracy=0.82,
    backbone_files=backbone_files,
    base_network=base_network,
    has_width=True,
)
