"""LLVM IR views: normalisation, the ProGraML-style graph, the token view and graph drawing."""
