# Regenerate the NumPy fixtures into OUT and require them to agree with the committed ones in SRC
# to a relative 1e-10 (compare_fixtures.py). Not byte for byte: NumPy's BLAS kernel differs between
# CPUs (and with OPENBLAS_CORETYPE) and moves the last printed digits; a wrong formula moves far more.
file(MAKE_DIRECTORY ${OUT})
execute_process(COMMAND ${PYTHON} ${SRC}/make_fixtures.py ${OUT} RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "make_fixtures.py failed (${rc})")
endif()
foreach(f fixture_relu_bn.txt fixture_tanh_nobn.txt)
  execute_process(COMMAND ${PYTHON} ${SRC}/compare_fixtures.py ${SRC}/${f} ${OUT}/${f}
    RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${f}: the regenerated fixture differs from the committed one")
  endif()
endforeach()
message(STATUS "fixtures regenerate within tolerance")
