"""What auditors and users read: the inbox listing, the read models of the API and the pages, case
search, case history, reports, record books, and the records archive with its retention. It reads
storage only and never imports the runtime."""
