# The mix study, over config/train_mnist_letters.py: records only (the vision-only side of the comparison).
out_dir = 'out/mix_vision'
text_share = 0.0  # no text
