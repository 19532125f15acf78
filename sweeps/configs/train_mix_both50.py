# The mix study: half of every batch Shakespeare: the default's 128 records plus 128 text windows, the same model
# and steps as out/mix_vision.
out_dir = 'out/mix_both50'
batch_size = 256  # 128 records and 128 text windows
text_share = 0.5  # half the rows are text
