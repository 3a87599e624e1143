# Configure and build SRC in WORK with -DMAF_SANITIZE=ON (AddressSanitizer + UndefinedBehavior-
# Sanitizer), then run its unit, MPI and end-to-end tests (real mpirun ranks, every rank
# instrumented). Leaks are checked everywhere; in MPI processes the allocations Open MPI, its
# plugins and HDF5's MPI-IO layer keep until exit are suppressed (tests/sanitize/lsan.supp),
# which needs full stacks (fast_unwind_on_malloc=0) and plugins that stay loaded.
macro(run)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "failed (${rc}): ${ARGN}\n${out}\n${err}")
  endif()
endmacro()
run(${CMAKE_COMMAND} -S ${SRC} -B ${WORK} -DCMAKE_BUILD_TYPE=Debug -DMAF_SANITIZE=ON)
run(${CMAKE_COMMAND} --build ${WORK} -j2)
# verify_asan_link_order=0: the e2e disk-full test preloads its ENOSPC shim before ASan's runtime
set(ENV{ASAN_OPTIONS} "detect_leaks=1:abort_on_error=0:verify_asan_link_order=0:fast_unwind_on_malloc=0")
set(ENV{LSAN_OPTIONS} "suppressions=${SRC}/tests/sanitize/lsan.supp:print_suppressions=0:fast_unwind_on_malloc=0")
set(ENV{UBSAN_OPTIONS} "print_stacktrace=1:halt_on_error=1")
set(ENV{OMPI_MCA_mca_base_component_disable_dlclose} "1")
run(${CMAKE_COMMAND} -E chdir ${WORK} ctest --output-on-failure -j2 -L "unit|mpi|e2e")
message(STATUS "ASan+UBSan: every unit, MPI and end-to-end test passed")
