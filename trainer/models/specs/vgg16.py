"""VGG16 on a frozen ImageNet base; fine-tuned by blocks (block 5 alone on cached block-4 outputs)."""

from __future__ import annotations

from trainer.models.spec import KERAS_APPLICATIONS_URL, ArchitectureSpec, BackboneFiles

NAME = "vgg16"


def backbone_files(alpha: float = 1.0) -> BackboneFiles:
    official = "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"
    return BackboneFiles(("vgg16_imagenet_notop.h5", official), KERAS_APPLICATIONS_URL + "vgg16/" + official)


def base_network(alpha: float, **keras_arguments):
    import keras

    return keras.applications.VGG16(**keras_arguments)


SPEC = ArchitectureSpec(
    name=NAME,
    short_name="VGG16",
    display_name="VGG16, frozen ImageNet base",
    tuned_display_name="VGG16, block 5 fine-tuned",
    preprocessing="caffe",
    last_conv_layer="block5_conv3",
    paper_accuracy=0.87,
    extra_data_by_default=True,
    backbone_files=backbone_files,
    base_network=base_network,
    last_block=5,
    cached_split_layer="block4_pool",
)
