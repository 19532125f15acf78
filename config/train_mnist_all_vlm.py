# One GPT on every task (`make all TASKS=all`, data from config/prepare_mnist_all_vlm.py): the default
# model and recipe (config/train_mnist_vlm.py, given first on the command line), its rows shared out
# between the tasks by task_mix. Records are 74 characters (a two-image question) instead of 33, so a
# step costs about 2.5 times the default's: 2800 steps are about 13 minutes on 2 cores.
out_dir = 'out/mnist_all_vlm'
# The first try, read:0.3,draw:0.15,caption:0.2,caption_draw:0.1,question:0.25, on the validation
# images (`python -m eval.report --split=val`): read 0.9685, captioned the label at 0.9625, but drew
# from captions as asked at 0.26 (0.19 guided) and answered 'what is it plus k?' at 0.65 and 'what
# is their sum?' at 0.47: the tasks learnt last get larger shares (captions and questions read the
# label too, so reading's share can shrink)
task_mix = 'read:0.2,draw:0.1,caption:0.15,caption_draw:0.2,question:0.35'
