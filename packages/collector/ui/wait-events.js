// What the common wait events mean (after PostgreSQL's "Wait Event" tables),
// plus the two the collector makes up for off-CPU time without one. Events not
// listed are shown by name only.
export const WAIT_EVENTS = Object.freeze({
  'CPU:Runnable': 'preempted: runnable, waiting for a CPU',
  'Other:OffCPU': 'asleep with no PostgreSQL wait event set',
  'Client:ClientRead': 'waiting to read data from the client',
  'Client:ClientWrite': 'waiting to write data to the client',
  'IO:DataFileRead': 'waiting for a read from a relation data file',
  'IO:DataFileWrite': 'waiting for a write to a relation data file',
  'IO:BufFileRead': 'waiting for a read from a temporary file',
  'IO:BufFileWrite': 'waiting for a write to a temporary file',
  'IO:WALSync': 'waiting for a WAL file to reach durable storage',
  'IO:WALWrite': 'waiting for a write to a WAL file',
  'LWLock:WALWrite': 'waiting for WAL buffers to be written to disk',
  'LWLock:WALInsert': 'waiting to insert WAL data into a memory buffer',
  'LWLock:BufferMapping': 'waiting to associate a data block with a buffer in the buffer pool',
  'LWLock:BufferContent': 'waiting to access a data page in memory',
  'BufferPin:BufferPin': 'waiting to acquire an exclusive pin on a buffer',
  'IPC:SyncRep': 'waiting for a synchronous standby to confirm the commit',
  'Timeout:PgSleep': 'waiting in pg_sleep or a sibling function',
});
