# The mix study: the 32 Shakespeare windows of each mixed batch alone: the same model, steps and text tokens as
# out/mix_both, without the records (its text-only side; ckpt.pt chosen by held-out text loss).
out_dir = 'out/mix_text'
batch_size = 32  # out/mix_both's text rows
text_share = 1.0  # text only
