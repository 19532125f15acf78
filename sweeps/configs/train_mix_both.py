# The mix study, over config/train_mnist_letters.py: every batch holds the default's 128 records plus 32 windows of
# Shakespeare (a fifth of the rows), the same model and steps as out/mix_vision.
out_dir = 'out/mix_both'
batch_size = 160  # 128 records and 32 text windows
text_share = 0.2  # a fifth of the rows are text
