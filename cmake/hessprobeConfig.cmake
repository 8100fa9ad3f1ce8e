# hessprobe's public C++ headers for a user's CMake project:
#
#     execute_process(COMMAND python -c "import hessprobe; print(hessprobe.get_cmake_dir())"
#                     OUTPUT_VARIABLE hessprobe_DIR OUTPUT_STRIP_TRAILING_WHITESPACE)
#     find_package(hessprobe CONFIG REQUIRED)
#     target_link_libraries(my_module PRIVATE hessprobe::headers)
#
# hessprobe::headers carries the include directory and the flags the core is compiled
# with (C++17, no floating-point contraction), so that a user's function gives the core's
# results bit for bit; link OpenMP::OpenMP_CXX and define HESSPROBE_WITH_OPENMP for threads.
# Installed with the package as hessprobe/share/cmake/hessprobe/; in a source checkout
# (an editable install) it is cmake/ and the headers are cpp/include.
if(EXISTS "${CMAKE_CURRENT_LIST_DIR}/../../../include/hessprobe/abi.h")
  get_filename_component(hessprobe_INCLUDE_DIR "${CMAKE_CURRENT_LIST_DIR}/../../../include" ABSOLUTE)
else()
  get_filename_component(hessprobe_INCLUDE_DIR "${CMAKE_CURRENT_LIST_DIR}/../cpp/include" ABSOLUTE)
endif()
set(hessprobe_ABI_VERSION 1)
if(NOT TARGET hessprobe::headers)
  add_library(hessprobe::headers INTERFACE IMPORTED)
  set_target_properties(hessprobe::headers PROPERTIES INTERFACE_INCLUDE_DIRECTORIES "${hessprobe_INCLUDE_DIR}")
  target_compile_features(hessprobe::headers INTERFACE cxx_std_17)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(hessprobe::headers INTERFACE -ffp-contract=off)
  endif()
endif()
set(hessprobe_FOUND TRUE)
