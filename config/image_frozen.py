# The GPT reads each reading record's picture through the data's VQ-VAE encoder (trained on pixels alone, no
# labels), frozen, and a trainable MLP projector (nanogpt/vision.py); drawing still writes letters. On top of
# the dataset's train config, with config/image_cnn.py's settings (not tuned for the frozen encoder).
image_input = 'frozen'
letters_share = 0.1  # a tenth of the reading records keep their letters: the 'image:' stream of drawing's guidance
pixel_shift = 1  # each picture read moves by up to a pixel
