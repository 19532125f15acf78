# `make mix`, on top of config/train_mnist_vlm.py: records only (the vision-only side of the comparison).
out_dir = 'out/mix_vision'
text_share = 0.0
