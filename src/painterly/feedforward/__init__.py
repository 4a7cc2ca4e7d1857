"""Feed-forward style networks (Johnson et al. 2016; Dumoulin et al. 2017): the networks, training, painting with
a trained network, export."""
