"""Where files live: the node's own disk or an S3 bucket, behind one small seam.

Every recorded file (segments, evidence clips, export packages; body-worn footage too) is
written to the node's storage root first and hashed there. With ``storage.object_store:``
configured, the tiering job (vms.storage.tiering) later copies finished files to the bucket,
checks the copy against the SHA-256 computed at write time, records in the index that the
file now lives in the bucket (``location = "bucket"``), and only then deletes the local copy.

Readers never care where a file is: they ask :class:`Storage` for ``(location, key)`` and get
bytes, a range of bytes, a size or a hash. The key is the path relative to the storage root
(``recordings/<camera>/<day>/<time>.mp4``), the same on disk and in the bucket (after the
configured prefix).

    from vms.storage.base import LOCAL, BUCKET
    from vms.storage.resolve import storage_for
    storage = storage_for(config)                    # one per process; cheap to share
    storage.size(row.location, row.path)             # bytes, or None when it is gone
    for chunk in storage.read(row.location, row.path, start, end): ...
    storage.sha256(row.location, row.path)           # (hex, bytes) or None
    storage.move_to_bucket(row.path, row.sha256)     # verified copy, then local delete
    storage.delete(row.location, row.path)           # lifts a bucket legal hold first:
                                                     # call it only once the index said
                                                     # nothing holds the file

Two implementations of :class:`ObjectStore`: :class:`LocalStore` (a folder) and
:class:`S3Store` (boto3; SeaweedFS in tests and the demo, MinIO, Ceph RGW or a cloud bucket
in production). Legal holds are the index's, always; where the bucket has S3 object lock
enabled, a held object also carries an S3 legal hold, so not even a bucket administrator's
stray delete removes it.
"""
