/** The seed scenarios of DESIGN.md, each a workload plus the KernelConfig switches of its variants. */
package dev.reclaimlab.scenario;
