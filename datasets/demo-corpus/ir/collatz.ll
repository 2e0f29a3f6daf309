; ModuleID = 'collatz.c'
source_filename = "collatz.c"
target datalayout = "e-m:e-p270:32:32-p271:32:32-p272:64:64-i64:64-f80:128-n8:16:32:64-S128"
target triple = "x86_64-pc-linux-gnu"

; Function Attrs: nofree norecurse nosync nounwind readnone uwtable
define dso_local i32 @collatz_length(i64 noundef %0) local_unnamed_addr #0 {
  %2 = icmp eq i64 %0, 1
  br i1 %2, label %14, label %3

3:                                                ; preds = %1, %3
  %4 = phi i32 [ %12, %3 ], [ 0, %1 ]
  %5 = phi i64 [ %11, %3 ], [ %0, %1 ]
  %6 = and i64 %5, 1
  %7 = icmp eq i64 %6, 0
  %8 = mul i64 %5, 3
  %9 = add i64 %8, 1
  %10 = lshr i64 %5, 1
  %11 = select i1 %7, i64 %10, i64 %9
  %12 = add nuw nsw i32 %4, 1
  %13 = icmp eq i64 %11, 1
  br i1 %13, label %14, label %3, !llvm.loop !5

14:                                               ; preds = %3, %1
  %15 = phi i32 [ 0, %1 ], [ %12, %3 ]
  ret i32 %15
}

; Function Attrs: nofree norecurse nosync nounwind readnone uwtable
define dso_local i32 @longest_below(i32 noundef %0) local_unnamed_addr #0 {
  %2 = icmp ugt i32 %0, 1
  br i1 %2, label %3, label %5

3:                                                ; preds = %1
  %4 = zext i32 %0 to i64
  br label %7

5:                                                ; preds = %23, %1
  %6 = phi i32 [ 1, %1 ], [ %28, %23 ]
  ret i32 %6

7:                                                ; preds = %3, %23
  %8 = phi i64 [ 1, %3 ], [ %29, %23 ]
  %9 = phi i32 [ 1, %3 ], [ %28, %23 ]
  %10 = phi i32 [ 0, %3 ], [ %26, %23 ]
  %11 = icmp eq i64 %8, 1
  br i1 %11, label %23, label %12

12:                                               ; preds = %7, %12
  %13 = phi i32 [ %21, %12 ], [ 0, %7 ]
  %14 = phi i64 [ %20, %12 ], [ %8, %7 ]
  %15 = and i64 %14, 1
  %16 = icmp eq i64 %15, 0
  %17 = mul i64 %14, 3
  %18 = add i64 %17, 1
  %19 = lshr i64 %14, 1
  %20 = select i1 %16, i64 %19, i64 %18
  %21 = add nuw nsw i32 %13, 1
  %22 = icmp eq i64 %20, 1
  br i1 %22, label %23, label %12, !llvm.loop !5

23:                                               ; preds = %12, %7
  %24 = phi i32 [ 0, %7 ], [ %21, %12 ]
  %25 = icmp sgt i32 %24, %10
  %26 = select i1 %25, i32 %24, i32 %10
  %27 = trunc i64 %8 to i32
  %28 = select i1 %25, i32 %27, i32 %9
  %29 = add nuw nsw i64 %8, 1
  %30 = icmp eq i64 %29, %4
  br i1 %30, label %5, label %7, !llvm.loop !8
}

attributes #0 = { nofree norecurse nosync nounwind readnone uwtable "frame-pointer"="none" "min-legal-vector-width"="0" "no-trapping-math"="true" "stack-protector-buffer-size"="8" "target-cpu"="x86-64" "target-features"="+cx8,+fxsr,+mmx,+sse,+sse2,+x87" "tune-cpu"="generic" }

!llvm.module.flags = !{!0, !1, !2, !3}
!llvm.ident = !{!4}

!0 = !{i32 1, !"wchar_size", i32 4}
!1 = !{i32 7, !"PIC Level", i32 2}
!2 = !{i32 7, !"PIE Level", i32 2}
!3 = !{i32 7, !"uwtable", i32 1}
!4 = !{!"Debian clang version 14.0.6"}
!5 = distinct !{!5, !6, !7}
!6 = !{!"llvm.loop.mustprogress"}
!7 = !{!"llvm.loop.unroll.disable"}
!8 = distinct !{!8, !6, !7}
