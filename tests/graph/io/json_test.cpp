// Placeholder: tests arrive with the code they test.
#include <doctest/doctest.h>
