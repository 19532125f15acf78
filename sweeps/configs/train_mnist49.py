# The letters49 study's run, over the default preset (config/train_mnist_letters.py): the 49-letter records, a wider
# GPT and 2.5x the steps (its trial on the validation digits is in docs/studies.md).
out_dir = 'out/mnist49_letters'
dataset = 'mnist49_vlm'  # data/mnist49_vlm: the 49-letter records
eval_interval = 1000  # each evaluation reads all 10,000 validation digits (about 15 s of 49-letter records)
n_embd = 128  # wider: 49 letters carry more of each digit to read
max_iters = 7000  # 2.5x the steps of the default it was measured over (2800)
lr_decay_iters = 7000  # the cosine schedule ends with the run
task_mix = ''  # every record alike, as measured
