#include "cli/app.h"

int main(int argc, char** argv) { return podtape::cli::Main(argc, argv); }
