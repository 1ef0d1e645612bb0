"""Every named graph mesokg writes, in one place (stores, endpoints and the screen's scratch graph)."""

KB = "urn:mesokg:graph:kb"  # the knowledge graph, replaced as a whole
META = "urn:mesokg:graph:meta"  # what the store holds: the knowledge graph's fingerprint, the files loaded
DATA = "urn:mesokg:graph:data"  # patient data on a remote endpoint (the default of --graph)
DATA_PREFIX = "urn:mesokg:data:sha256:"  # + the content digest of one loaded file: its graph in a store
RESOLVED_PREFIX = "urn:mesokg:resolved:"  # + the digest: the resolved codes of that file's records
SCREEN = "urn:mesokg:graph:screen"  # hypothetical sessions while one treatment is screened for everyone
