# The mix study: the 128 Shakespeare windows of each out/mix_both50 batch alone (its text-only side: the same
# model, steps and text tokens).
out_dir = 'out/mix_text128'
batch_size = 128  # out/mix_both50's text rows
text_share = 1.0  # text only
