/* version.c - the linked library's version. */
#include "maf/version.h"

const char *maf_version(void)
{
    return MAF_VERSION_STRING;
}
