#ifndef ORCHESTRATE_CYAML_SHIM_H
#define ORCHESTRATE_CYAML_SHIM_H
#include <yaml.h>
#endif
