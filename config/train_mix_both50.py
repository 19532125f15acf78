# `make mix`: half of every batch Shakespeare: the default's 128 records plus 128 text windows, the same model
# and steps as out/mix_vision.
out_dir = 'out/mix_both50'
batch_size = 256
text_share = 0.5
