"""ps_lbfgs: how should ``torch.optim.LBFGS`` be configured for PS metamer synthesis."""
