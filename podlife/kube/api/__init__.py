"""The API plumbing, the lowest sub-room of ``podlife.kube`` (it imports none of the others): the
client and the cluster reached, waiting and watching, exec, HTTP to pods and Services through the
API server, an earlier run's leftovers, and whether the nodes can get the run's images."""
