# The GPT reads each reading record's picture as pixels, through a small conv net trained with it from scratch
# (nanogpt/vision.py); drawing still writes letters. On top of the dataset's train config (the same model and
# steps). On the validation digits, at 2800 steps: 64 channels with batch norm 0.99xx, against 32 channels
# 0.9915 and 64 channels without batch norm (a tenth more time per step) 0.9900.
image_input = 'cnn'
encoder_width = 64
letters_share = 0.1  # a tenth of the reading records keep their letters: the 'image:' stream of drawing's guidance
pixel_shift = 1  # each picture read moves by up to a pixel (the letters' copies are shifted and rotated already)
