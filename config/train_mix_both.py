# `make mix`: every batch holds the default's 128 records plus 32 windows of Shakespeare (a fifth of the rows),
# the same model and steps as out/mix_vision.
out_dir = 'out/mix_both'
batch_size = 160
text_share = 0.2
