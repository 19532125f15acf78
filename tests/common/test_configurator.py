import pytest

from common.configurator import configure


def fresh():
    return dict(batch_size=64, learning_rate=1e-3, compile=False, out_dir='out', _private=1, PAD='#')


def test_files_and_overrides_apply_in_order(tmp_path):
    cfg = tmp_path / 'c.py'
    cfg.write_text("batch_size = 32\nlearning_rate = 2e-3\nimport math\n")
    g = fresh()
    config = configure(g, [str(cfg), '--batch_size=16', '--compile', '--out_dir=2024', '--learning_rate=1'])
    assert g['batch_size'] == 16 and g['learning_rate'] == 1.0 and g['compile'] is True and g['out_dir'] == '2024'
    assert config == {k: g[k] for k in ('batch_size', 'learning_rate', 'compile', 'out_dir')}


@pytest.mark.parametrize('argv, message', [
    (['--batch_sise=3'], "unknown config key 'batch_sise'"),
    (['--batch_size=3.5'], "expects int"),
    (['--compile=1'], "expects bool"),
    (['--learning_rate=fast'], "expects float"),
    (['missing.py'], "cannot read config file"),
    (['digit.png'], "neither a config file"),
    (['--out_dir'], "malformed"),
    (['--PAD=x'], "unknown config key 'PAD'"),
])
def test_bad_configs_are_one_line_errors(argv, message):
    with pytest.raises(SystemExit) as e:
        configure(fresh(), argv)
    assert message in str(e.value) and str(e.value).startswith('error:')


def test_unknown_key_in_a_file(tmp_path):
    cfg = tmp_path / 'c.py'
    cfg.write_text("n_layers = 4\n")
    with pytest.raises(SystemExit, match="unknown config key 'n_layers'"):
        configure(fresh(), [str(cfg)])


@pytest.mark.parametrize('source, message', [("batch_size = undefined_name\n", "NameError"),
                                             ("batch_size = (\n", "SyntaxError")])
def test_a_broken_config_file_is_one_line(tmp_path, source, message):
    cfg = tmp_path / 'c.py'
    cfg.write_text(source)
    with pytest.raises(SystemExit) as e:
        configure(fresh(), [str(cfg)])
    assert str(e.value).startswith(f'error: config file {cfg} fails: {message}') and '\n' not in str(e.value)
