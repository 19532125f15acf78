# `make mix`: the 32 Shakespeare windows of each mixed batch alone: the same model, steps and text tokens as
# out/mix_both, without the records (the text-only side of the comparison; ckpt.pt chosen by held-out text loss).
out_dir = 'out/mix_text'
batch_size = 32
text_share = 1.0
